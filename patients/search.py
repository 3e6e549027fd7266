"""Finding a patient from one search box: what the text means, and the query that finds it.

The box takes part of a name, an MRN, a date of birth, a phone number or an email address.
The text is read first (``parse_query``), then matched with the indexes built for each key:

- MRN, phone (normalised to E.164) and email (lower-cased) are exact matches on btree indexes.
- Dates of birth (dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd) use the date index and can
  be combined with name words: ``smith 12/03/1970``.
- Name words, on PostgreSQL, are typo-tolerant: every word must be trigram-similar to a word of
  the patient's name (``%>``, GIN index ``patients_patient_name_trgm``) or sound like the first
  or last name (double metaphone, indexes ``patients_patient_first_phonetic`` and
  ``patients_patient_last_phonetic``). Results are ranked by trigram similarity of the whole
  name, plus a bonus for words that sound right. The expression below must stay identical
  to the indexed one in migration 0002, or the planner falls back to a sequential scan (a test
  checks the plan).
- On SQLite (the quick start) the same query runs with the same rules: ``dmetaphone`` is the
  same double metaphone (the ``doublemetaphone`` package, a wrapper of the C++ original that
  PostgreSQL's fuzzystrmatch also derives from), registered as an SQLite function on every
  connection, and trigram similarity is replaced by rapidfuzz's optimal-string-alignment
  similarity per name word (a transposed pair of letters is one edit), or a prefix. SQLite
  has no index for either, so it reads every row: fine for a quick start's thousands of
  patients, not for a clinic's registry (which runs on PostgreSQL).
- A word with two neighbouring letters swapped ("smtih") also matches by sound: the double
  metaphone keys of its transpositions (computed in Python, the same library as on SQLite) are
  looked up on the phonetic indexes.
- Part of an MRN (four or more of its digits, with or without "FN") matches anywhere in the
  MRN: a trigram index on PostgreSQL (migration 0003), LIKE on SQLite.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers
from django.conf import settings
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Lower, NullIf
from doublemetaphone import doublemetaphone
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

# Word-similarity threshold for name words, set on every PostgreSQL connection by
# PatientsConfig.ready(). pg_trgm's default (0.6) misses slips like "thomson" for "thompson";
# 0.4 plus the phonetic match finds 94% of single-letter slips in a sample of our name lists
# (0.3 finds 96% but matches every name sharing two first letters and is ten times slower).
WORD_SIMILARITY_THRESHOLD = 0.4
# Added to the trigram rank when every word sounds like the first or last name.
PHONETIC_BONUS = 0.5
# Whole-name similarity threshold, set on every PostgreSQL connection with the one above, for
# the narrowed search of a common name (_names_postgres): just under the phonetic bonus.
SIMILARITY_THRESHOLD = 0.49
# SQLite: a name word is similar to a typed word when their optimal-string-alignment similarity
# is at least this (one slip in four letters: "jon"/"john", "simth"/"smith", "wilsen"/"wilson";
# not "jhon"/"jones", 0.4).
SQLITE_WORD_SIMILARITY = 0.75

MAX_QUERY_LENGTH = 200
MIN_NAME_LENGTH = 2

_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")
_MRN = re.compile(r"^FN\d{8}$")
# Part of an MRN: four to seven of its digits, or "FN" and one to seven (a whole MRN has eight).
_MRN_PART = re.compile(r"^(?:FN\d{1,7}|\d{4,7})$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_SEPARATORS = re.compile(r"[\s,;]+")
# Letters (any script), apostrophes and hyphens inside a word: O'Brien, Smith-Jones.
_WORD_EDGES = re.compile(r"^[^\w]+|[^\w]+$")


@dataclass(frozen=True)
class ParsedQuery:
    names: tuple[str, ...] = ()
    dates: tuple[date, ...] = ()
    mrn: str = ""
    mrn_part: str = ""
    phone: str = ""
    email: str = ""
    ignored: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not (self.names or self.dates or self.mrn or self.mrn_part or self.phone or self.email)


def parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 (a calendar date, no time zone)
        except ValueError:
            continue
        return parsed.date()
    return None


def parse_phone(text: str) -> str:
    """E.164 for anything that reads as a phone number in the clinic's region, else ''."""
    if not _PHONE_CHARS.match(text) or sum(ch.isdigit() for ch in text) < 7:
        return ""
    try:
        number = phonenumbers.parse(text, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_query(text: str) -> ParsedQuery:
    text = "".join(ch for ch in text if ch.isprintable())[:MAX_QUERY_LENGTH].strip()
    if not text:
        return ParsedQuery()
    if _EMAIL.match(text):
        return ParsedQuery(email=text.lower())
    compact = re.sub(r"[\s\-]", "", text).upper()
    if _MRN.match(compact):
        return ParsedQuery(mrn=compact)
    if _MRN_PART.match(compact):
        return ParsedQuery(mrn_part=compact)
    whole_date = parse_date(text)
    if whole_date is not None:
        return ParsedQuery(dates=(whole_date,))
    phone = parse_phone(text)
    if phone:
        return ParsedQuery(phone=phone)

    names, dates, ignored = [], [], []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        as_date = parse_date(token)
        if as_date is not None:
            dates.append(as_date)
            continue
        word = _WORD_EDGES.sub("", token).lower()
        # Names have letters and no digits: "1970x" or "flat2" is noise, not a name.
        if (
            any(ch.isalpha() for ch in word)
            and not any(ch.isdigit() for ch in word)
            and len(word) >= MIN_NAME_LENGTH
        ):
            names.append(word)
        else:
            ignored.append(token)
    return ParsedQuery(names=tuple(dict.fromkeys(names)), dates=tuple(dates), ignored=tuple(ignored))


class NameText(Func):
    """first_name || ' ' || preferred_name || ' ' || last_name: the trigram-indexed expression."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self, **extra):
        super().__init__(F("first_name"), F("preferred_name"), F("last_name"), **extra)


class Phonetic(Func):
    """Double metaphone (fuzzystrmatch): "Smyth" and "Smith" both give SM0."""

    function = "dmetaphone"
    output_field = TextField()


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def apply_search(qs: QuerySet, parsed: ParsedQuery, *, limit: int | None = None) -> QuerySet:
    """Filter and rank ``qs`` (patients) by the parsed query. Returns an unsliced queryset;
    ``limit``, the number of rows the caller will take, lets a common name be searched faster
    with the same first ``limit`` rows."""
    if parsed.is_empty:
        return qs.none()
    if parsed.mrn:
        return qs.filter(mrn=parsed.mrn)
    if parsed.mrn_part:
        # MRNs are stored upper case; contains (LIKE '%…%') uses patients_patient_mrn_trgm.
        return qs.filter(mrn__contains=parsed.mrn_part).order_by("mrn")
    if parsed.phone:
        return qs.filter(mobile=parsed.phone)
    if parsed.email:
        # Lower(email) matches the expression index patients_patient_email.
        return qs.alias(email_lower=Lower("email")).filter(email_lower=parsed.email)
    if parsed.dates:
        qs = qs.filter(date_of_birth__in=parsed.dates)
    if not parsed.names:
        return qs.order_by("last_name", "first_name", "id")
    if _is_postgres():
        return _names_postgres(qs, parsed.names, limit=limit)
    return _names_sqlite(qs, parsed.names)


def _names_postgres(qs: QuerySet, names: tuple[str, ...], *, limit: int | None = None) -> QuerySet:
    phrase = " ".join(names)
    qs = qs.alias(
        search_name=NameText(),
        first_phonetic=Phonetic(F("first_name")),
        last_phonetic=Phonetic(F("last_name")),
    )
    if limit and len(names) == 1:
        narrowed = _common_name(qs, names[0], limit)
        if narrowed is not None:
            qs = narrowed
    every_word = Q()
    # Whole-name similarity ranks; word similarity would add little and cost a fifth more.
    rank = TrigramSimilarity(NameText(), phrase)
    for word in names:
        sounds_like = _sounds_like(word)
        # Phonetic first: a cheap equality that spares most rows the trigram recheck.
        every_word &= sounds_like | Q(search_name__trigram_word_similar=word)
        # A word that sounds like the first or last name is strong evidence ("jon" for John).
        rank += Case(When(sounds_like, then=Value(PHONETIC_BONUS / len(names))), default=Value(0.0))
    return (
        qs.filter(every_word)
        .annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField()))
        .order_by("-search_rank", "last_name", "first_name", "id")
    )


def _common_name(qs: QuerySet, word: str, limit: int) -> QuerySet | None:
    """``qs`` narrowed to the rows that can make the first ``limit`` of a one-word search, when
    at least ``limit`` patients sound like the word; else None.

    Those patients rank at PHONETIC_BONUS or more. Any other row ranks by its whole-name
    similarity alone, so it can only reach the first ``limit`` with a similarity of at least
    the bonus: the index-backed ``%`` at SIMILARITY_THRESHOLD finds those, where the word
    similarity of ``%>`` at 0.4 finds every name sharing a syllable ("hartridge": 70,000 of a
    million patients to rank, against 11,000). Every row kept also passes the full search's
    filter (whole-name similarity never exceeds word similarity), so the first ``limit`` rows
    are the same. One probe on the phonetic indexes decides (about a millisecond).
    """
    sounds_like = _sounds_like(word)
    if not qs.filter(sounds_like).order_by()[limit - 1 : limit].exists():
        return None
    return qs.filter(sounds_like | Q(search_name__trigram_similar=word))


def _sounds_like(word: str) -> Q:
    """The first or last name sounds like the word, or like the word with two neighbouring
    letters swapped ("smtih": "smith"), the commonest slip; every one an equality on the
    phonetic indexes."""
    sounds_like = Q(first_phonetic=_sound(word)) | Q(last_phonetic=_sound(word))
    swapped = transposition_keys(word)
    if swapped:
        sounds_like |= Q(first_phonetic__in=swapped) | Q(last_phonetic__in=swapped)
    return sounds_like


def transposition_keys(word: str) -> list[str]:
    """The phonetic keys of ``word`` with each pair of neighbouring letters swapped, less the
    word's own key (words of four letters or more; shorter ones would match too much)."""
    if len(word) < 4:
        return []
    own = phonetic_key(word)
    keys = set()
    for i in range(len(word) - 1):
        if word[i] == word[i + 1]:
            continue
        key = phonetic_key(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        if key and key != own:
            keys.add(key)
    return sorted(keys)


def _sound(word: str) -> NullIf:
    # dmetaphone gives '' for words with no consonant sound; '' must match nothing.
    return NullIf(Phonetic(Value(word)), Value(""))


def _names_sqlite(qs: QuerySet, names: tuple[str, ...]) -> QuerySet:
    """The PostgreSQL rules with the SQLite functions registered by ``sqlite_functions``."""
    phrase = " ".join(names)
    qs = qs.alias(first_phonetic=Phonetic(F("first_name")), last_phonetic=Phonetic(F("last_name")))
    every_word = Q()
    rank = Func(NameText(), Value(phrase), function="patients_similarity", output_field=FloatField())
    for i, word in enumerate(names):
        sounds_like = _sounds_like(word)
        key = f"word_similar_{i}"
        qs = qs.alias(
            **{
                key: Func(
                    Value(word), NameText(), function="patients_word_similar", output_field=IntegerField()
                )
            }
        )
        every_word &= sounds_like | Q(**{key: 1})
        rank += Case(When(sounds_like, then=Value(PHONETIC_BONUS / len(names))), default=Value(0.0))
    return (
        qs.filter(every_word)
        .annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField()))
        .order_by("-search_rank", "last_name", "first_name", "id")
    )


# --- SQLite functions ------------------------------------------------------------------------

_NAME_WORDS = re.compile(r"[\s\-]+")


def phonetic_key(text: str | None) -> str:
    """Double metaphone's primary key, as PostgreSQL's dmetaphone() gives it: at most four
    letters, as in the original algorithm ('' for none)."""
    if not text:
        return ""
    return doublemetaphone(text)[0][:4]


def word_similar(word: str, name: str | None) -> int:
    """1 when ``word`` starts, or is within one slip in four letters of, a word of ``name``."""
    for part in _NAME_WORDS.split((name or "").lower()):
        if part and (
            part.startswith(word) or OSA.normalized_similarity(word, part) >= SQLITE_WORD_SIMILARITY
        ):
            return 1
    return 0


def similarity(name: str | None, phrase: str) -> float:
    """Whole-name similarity for the rank, 0 to 1, whatever the order of the words."""
    return fuzz.token_sort_ratio((name or "").lower(), phrase) / 100


def sqlite_functions(dbapi_connection) -> None:
    """Register the search's functions on an SQLite connection (PatientsConfig.ready)."""
    dbapi_connection.create_function("dmetaphone", 1, phonetic_key, deterministic=True)
    dbapi_connection.create_function("patients_word_similar", 2, word_similar, deterministic=True)
    dbapi_connection.create_function("patients_similarity", 2, similarity, deterministic=True)
