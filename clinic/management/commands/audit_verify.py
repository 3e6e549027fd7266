"""Walk the audit trail's hash chain and report the first broken link (exit status 1)."""

from django.core.management.base import BaseCommand, CommandError

from clinic.audit_chain import chain_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain from its first link to the head, in chunks; print the "
        "head to record elsewhere, or the first broken link and exit with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="Rows read per query (default 5000)."
        )
        parser.add_argument(
            "--expect",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A head printed by an earlier run and kept outside the database: it must still be in "
            "the chain.",
        )
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, chunk_size: int, database: str, expect: list[str], **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        anchors = {}
        for given in expect:
            seq, _, digest = given.partition(":")
            if not seq.isdigit() or len(digest) != 64:
                raise CommandError(f"--expect takes SEQ:HASH as audit_verify prints it, not {given!r}.")
            anchors[int(seq)] = digest.lower()
        report = chain_verify(using=database, chunk_size=chunk_size, anchors=anchors)
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at {report.broken} ({report.checked} link(s) checked before it).",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} link(s); head {report.head_seq}:{report.head_hash}"
            )
        )
