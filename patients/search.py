"""Finding a patient from one search box: what the text means, and the query that finds it.

The box takes part of a name, an MRN, a date of birth, a phone number or an email address.
The text is read first (``parse_query``), then matched with the indexes built for each key:

- MRN, phone (normalised to E.164) and email (lower-cased) are exact matches on btree indexes.
- Dates of birth (dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd) use the date index and can
  be combined with name words: ``smith 12/03/1970``.
- Name words are matched in tiers, best first (see "The tiers" below): every word the whole
  first or last name, then every word the beginning of one (compared folded: lower case,
  accents removed), then typo-tolerant matches: every word sounds like the first or last name
  (double metaphone, indexes ``patients_patient_first_phonetic`` and
  ``patients_patient_last_phonetic``) or is trigram-similar to a word of the name (``%>``, GIN
  index ``patients_patient_name_trgm``), ranked by trigram similarity of the whole name plus a
  bonus for words that sound right. A short word (``SHORT_WORD`` letters or fewer) is not
  compared by trigrams: it must begin the first or last name, or sound like it. The
  expressions below must stay identical to the indexed ones (migrations 0002 and 0005), or the
  planner falls back to a sequential scan (tests check the plans).
- On PostgreSQL a search for a page of rows reads the tiers in turn and stops when the page is
  full (``_names_postgres``): a page of Smiths comes from the btree index on folded names, in
  order, without computing any similarity.
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

import operator
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from itertools import product

import phonenumbers
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Lower, NullIf
from django.db.models.lookups import Exact
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
# Names of up to this many words are looked up first on the btree indexes of the folded names
# (exact and prefix matches, _btree_tiers: one range per assignment of the words to the first
# or last name, 2 ** words - 1 of them); longer ones go to the typo-tolerant ranking alone.
MAX_BTREE_WORDS = 3
# In the typo-tolerant tier a word of at most this many letters (folded) must begin the first or
# last name, or sound like it; it is not compared by trigrams. A word this short has four or
# five trigrams, so the word-similarity threshold (two in common) matches names that merely
# contain its letters: "min" matched 3.8% of a register (7,660 of 200,000 patients), whose
# bitmap the database built and intersected for every such search. What the front desk types
# this short is the beginning of a name ("geo lang"); slips in it are caught by sound.
SHORT_WORD = 4
# When the exact and prefix matches do not fill the page, the typo-tolerant tier ranks at most
# this many candidates (any of them: the bitmap scans' order) to fill the rest.
TYPO_CANDIDATES = 200

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


class Fold(Func):
    """A name folded for comparison: lower case, accents removed ("Zoë" and "ZOE" give "zoe").
    On PostgreSQL ``patients_fold`` (unaccent and lower, migration 0005) in the "C" collation, so
    that a btree reads a prefix as a range and orders by code point: the expression of the
    indexes patients_patient_last_fold and patients_patient_first_fold, which must stay the same.
    On SQLite the function of the same name registered by ``sqlite_functions``."""

    function = "patients_fold"
    template = '%(function)s(%(expressions)s) COLLATE "C"'
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="%(function)s(%(expressions)s)", **extra_context)


class Phonetic(Func):
    """Double metaphone (fuzzystrmatch): "Smyth" and "Smith" both give SM0."""

    function = "dmetaphone"
    output_field = TextField()


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def apply_search(qs: QuerySet, parsed: ParsedQuery, *, limit: int | None = None) -> QuerySet:
    """Filter and rank ``qs`` (patients) by the parsed query. Returns an unsliced queryset;
    ``limit``, the number of rows the caller will take, lets a name search on PostgreSQL read
    only what can make those rows (``_names_postgres``), with the same ordering rules."""
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
    qs = qs.alias(
        last_fold=Fold(F("last_name")),
        first_fold=Fold(F("first_name")),
        first_phonetic=Phonetic(F("first_name")),
        last_phonetic=Phonetic(F("last_name")),
    )
    if _is_postgres():
        qs = qs.alias(search_name=NameText())
        if limit and len(parsed.names) <= MAX_BTREE_WORDS:
            return _names_postgres(qs, parsed.names, limit)
    return _ranked(qs, parsed.names)


# --- The tiers ------------------------------------------------------------------------------
#
# A name search ranks its matches in tiers, best first:
#   EXACT         every word is the whole first or last name, one of them the last name;
#   EXACT_FIRST   every word is the whole first name (a first name typed alone);
#   PREFIX        every word begins the first or last name, one of them the last name;
#   PREFIX_FIRST  every word begins the first name;
#   TYPO          the rest: every word sounds like the first or last name or is trigram-similar
#                 to a word of the name, ranked by similarity of the whole name plus a bonus for
#                 the words that sound right.
# Names are compared folded (lower case, accents removed: Fold), and the first four tiers are
# ordered by folded last name, first name and id, which the btree indexes on the folded names
# give without sorting.

EXACT, EXACT_FIRST, PREFIX, PREFIX_FIRST, TYPO = range(5)


def _is(field: str, word: str) -> Q:
    return Q(**{f"{field}_fold": Fold(Value(word))})


def _begins(field: str, word: str) -> Q:
    return Q(**{f"{field}_fold__startswith": Fold(Value(word))})


def _all(conditions) -> Q:
    return reduce(operator.and_, conditions)


def _any(conditions) -> Q:
    return reduce(operator.or_, conditions)


def _tier(names: tuple[str, ...]) -> Case:
    all_exact = _all(_is("first", w) | _is("last", w) for w in names)
    all_begin = _all(_begins("first", w) | _begins("last", w) for w in names)
    return Case(
        When(all_exact & _any(_is("last", w) for w in names), then=Value(EXACT)),
        When(all_exact, then=Value(EXACT_FIRST)),
        When(all_begin & _any(_begins("last", w) for w in names), then=Value(PREFIX)),
        When(all_begin, then=Value(PREFIX_FIRST)),
        default=Value(TYPO),
        output_field=IntegerField(),
    )


def _typo_match(names: tuple[str, ...]) -> tuple[Q, Func]:
    """The typo-tolerant filter and its rank (both databases: the functions differ, see
    sqlite_functions)."""
    every_word = Q()
    if _is_postgres():
        # Whole-name similarity ranks; word similarity would add little and cost a fifth more.
        rank = TrigramSimilarity(NameText(), " ".join(names))
    else:
        rank = Func(
            NameText(), Value(" ".join(names)), function="patients_similarity", output_field=FloatField()
        )
    for word in names:
        sounds_like = _sounds_like(word)
        if len(fold(word) or "") <= SHORT_WORD:
            similar = _begins("first", word) | _begins("last", word)
        elif _is_postgres():
            similar = Q(search_name__trigram_word_similar=word)
        else:
            similar = Q(
                Exact(
                    Func(
                        Value(word), NameText(), function="patients_word_similar", output_field=IntegerField()
                    ),
                    1,
                )
            )
        # Phonetic first: a cheap equality that spares most rows the trigram recheck.
        every_word &= sounds_like | similar
        # A word that sounds like the first or last name is strong evidence ("jon" for John).
        rank += Case(When(sounds_like, then=Value(PHONETIC_BONUS / len(names))), default=Value(0.0))
    return every_word, rank


def _ranked(qs: QuerySet, names: tuple[str, ...]) -> QuerySet:
    """Every match, in one query: the tiers computed for each row (SQLite, where every row is
    read anyway, and PostgreSQL when the caller takes every row)."""
    every_word, rank = _typo_match(names)
    begins = _all(_begins("first", w) | _begins("last", w) for w in names)
    by_first = Q(search_tier__in=[EXACT_FIRST, PREFIX_FIRST])
    return (
        qs.filter(begins | every_word)
        .annotate(search_tier=_tier(names))
        .annotate(
            search_rank=Case(
                When(search_tier=TYPO, then=ExpressionWrapper(rank, output_field=FloatField())),
                default=Value(0.0),
                output_field=FloatField(),
            ),
            search_key1=Case(When(by_first, then=F("first_fold")), default=F("last_fold")),
            search_key2=Case(When(by_first, then=F("last_fold")), default=F("first_fold")),
        )
        .order_by("search_tier", "-search_rank", "search_key1", "search_key2", "id")
    )


def _names_postgres(qs: QuerySet, names: tuple[str, ...], limit: int) -> QuerySet:
    """The first ``limit`` rows of a name search, reading little; at most four queries.

    1. Exact and prefix matches (the first four tiers): one query, a branch per tier and
       assignment of the words to the first or last name, each at most ``limit`` rows read in
       order from a btree index on the folded names. When they fill the page, it is theirs:
       no similarity is computed ("smith": about 8,600 Smiths in a million patients).
    2. Otherwise the rest of the page from the patients who sound like every word (equalities
       on the phonetic indexes), at most TYPO_CANDIDATES of them ranked.
    3. Only when neither finds anyone (a slip that changes the sound: "reynods"), the
       trigram-similar names too, at most TYPO_CANDIDATES of them ranked.
    4. The page's rows, by id, in that order.
    """
    found: list[int] = []
    branches = [
        qs.filter(condition)
        .annotate(search_tier=Value(tier), k1=F(f"{lead}_fold"), k2=F(f"{second}_fold"))
        .order_by(f"{lead}_fold", f"{second}_fold", "id")
        .values_list("search_tier", "k1", "k2", "pk")[:limit]
        for tier, condition, (lead, second) in _btree_branches(names)
    ]
    if branches:
        rows = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
        found = list(dict.fromkeys(pk for *_, pk in sorted(rows)))[:limit]
    if len(found) >= limit:
        return qs.filter(pk__in=found).order_by(_position(found))
    every_word, rank = _typo_match(names)
    others = qs.exclude(pk__in=found).order_by()
    sounds_right = others.filter(_all(_sounds_like(w) for w in names))
    # The trigram branch runs only if nobody sounds right (PostgreSQL evaluates the uncorrelated
    # NOT EXISTS once and skips the branch); the page's query ranks what the branches give.
    candidates = sounds_right.values("pk")[:TYPO_CANDIDATES].union(
        others.filter(every_word, ~Exists(sounds_right)).values("pk")[:TYPO_CANDIDATES], all=True
    )
    ordering = ["-search_rank", "last_fold", "first_fold", "id"]
    if found:
        candidates = qs.filter(pk__in=found).order_by().values("pk").union(candidates, all=True)
        ordering.insert(0, _position(found).asc(nulls_last=True))
    return (
        # pk = ANY(ARRAY(...)): the page's rows by primary key. As pk IN (...) the planner may
        # hash-join the candidates against every active patient instead.
        qs.filter(_AnyOf(candidates))
        .annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField()))
        .order_by(*ordering)
    )


class _AnyOf(Func):
    """``id = ANY(ARRAY(<subquery>))`` (PostgreSQL): a boolean filter on a candidate list."""

    template = '%(table)s."id" = ANY(ARRAY(%(expressions)s))'
    output_field = BooleanField()

    def __init__(self, candidates: QuerySet):
        super().__init__(Subquery(candidates))

    def as_sql(self, compiler, connection, **extra):
        extra["table"] = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return super().as_sql(compiler, connection, **extra)


def _btree_branches(names: tuple[str, ...]) -> list[tuple[int, Q, tuple[str, str]]]:
    """The first four tiers as (tier, condition, index order), each condition one range of a
    btree index on the folded names: the words assigned to the first or last name, every
    assignment that can match its own branch (two words can both be the last name only if one
    begins the other)."""
    branches: list[tuple[int, Q, tuple[str, str]]] = []
    all_exact = _all(_is("first", w) | _is("last", w) for w in names)
    by_last, by_first = ("last", "first"), ("first", "last")
    for fields in product(("first", "last"), repeat=len(names)):
        on_last = [fold(w) or "" for f, w in zip(fields, names, strict=True) if f == "last"]
        on_first = [fold(w) or "" for f, w in zip(fields, names, strict=True) if f == "first"]
        exact = _all(_is(f, w) for f, w in zip(fields, names, strict=True))
        begins = _all(_begins(f, w) for f, w in zip(fields, names, strict=True))
        if len(set(on_last)) <= 1 and len(set(on_first)) <= 1:
            if on_last:
                branches.append((EXACT, exact, by_last))
            else:
                branches.append((EXACT_FIRST, exact & ~_any(_is("last", w) for w in names), by_first))
        if _nested(on_last) and _nested(on_first):
            if on_last:
                condition = begins & ~all_exact
                if len(names) == 1:  # start the scan past the exact ones rather than step over them
                    condition &= Q(last_fold__gt=Fold(Value(names[0])))
                branches.append((PREFIX, condition, by_last))
            else:
                condition = begins & ~_any(_begins("last", w) for w in names) & ~all_exact
                if len(names) == 1:
                    condition &= Q(first_fold__gt=Fold(Value(names[0])))
                branches.append((PREFIX_FIRST, condition, by_first))
    return branches


def _nested(words: list[str]) -> bool:
    """Each word begins the longest one (so that a name can begin with all of them)."""
    longest = max(words, key=len, default="")
    return all(longest.startswith(w) for w in words)


def _position(ids: list[int]) -> Func:
    """Where the row's id is in ``ids`` (NULL if not there), to keep their order."""
    return Func(
        Cast(Value(ids), ArrayField(BigIntegerField())),
        F("id"),
        function="array_position",
        output_field=IntegerField(),
    )


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


# --- SQLite functions ------------------------------------------------------------------------

_NAME_WORDS = re.compile(r"[\s\-]+")


def phonetic_key(text: str | None) -> str:
    """Double metaphone's primary key, as PostgreSQL's dmetaphone() gives it: at most four
    letters, as in the original algorithm ('' for none)."""
    if not text:
        return ""
    return doublemetaphone(text)[0][:4]


def fold(text: str | None) -> str | None:
    """Lower case without accents (SQLite's ``patients_fold``): the letters' decompositions less
    their combining marks, as PostgreSQL's unaccent does for the common accents."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


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
    dbapi_connection.create_function("patients_fold", 1, fold, deterministic=True)
    dbapi_connection.create_function("patients_word_similar", 2, word_similar, deterministic=True)
    dbapi_connection.create_function("patients_similarity", 2, similarity, deterministic=True)
