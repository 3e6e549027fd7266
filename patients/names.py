"""Realistic UK names and places for demo data and the search benchmark.

Surnames are listed roughly by frequency in England and Wales, so that weighting them by rank
gives the uneven spread a real register has (many Smiths, few Okonkwos) and searches for common
names are measured against realistic numbers of matches.
"""

import random


def _words(text: str) -> list[str]:
    return text.split()


def _parts(text: str) -> list[str]:
    return text.split("|")


FEMALE_FIRST_NAMES = _words(
    "Olivia Amelia Isla Ava Mia Grace Sophia Lily Freya Emily Ivy Ella Rosie Evie Florence Poppy "
    "Charlotte Willow Isabella Sophie Sarah Emma Jessica Hannah Lucy Laura Rebecca Rachel "
    "Katherine Catherine Elizabeth Margaret Susan Patricia Helen Joan Jean Janet Anne Ann Mary "
    "Karen Julie Claire Nicola Joanne Louise Michelle Amanda Zoe Chloe Megan Holly Abigail Niamh "
    "Siobhan Aoife Priya Aisha Fatima Zainab Maryam Amira Leila Mei Yan Ngozi Chiamaka Agnieszka "
    "Katarzyna Ana Maria Sofia Chiara Ines Lucia Deborah Gillian Pauline Brenda Sheila Maureen "
    "Sandra Denise Tracey Kelly Gemma Kirsty Stacey Bethany Phoebe Imogen Harriet Eleanor Martha "
    "Beatrice Alice"
)

MALE_FIRST_NAMES = _words(
    "Oliver George Noah Arthur Harry Leo Muhammad Jack Charlie Oscar Jacob Henry Thomas Freddie "
    "Alfie Theo William James John Robert Michael David Richard Joseph Charles Christopher Daniel "
    "Matthew Anthony Mark Paul Steven Stephen Andrew Peter Kevin Brian Gary Ian Neil Simon Philip "
    "Phillip Stuart Graham Colin Keith Barry Derek Trevor Geoffrey Jeffrey Sean Shaun Liam Connor "
    "Callum Ryan Jamie Ben Samuel Joshua Luke Adam Aaron Nathan Dylan Owen Rhys Gareth Dafydd "
    "Ewan Hamish Angus Mohammed Ahmed Ali Omar Hassan Imran Arjun Rohan Sanjay Rajesh Wei Jun "
    "Chukwuemeka Oluwaseun Kwame Piotr Tomasz Krzysztof Luca Marco Giovanni Pedro Joao Miguel "
    "Jose Ahmet Mehmet"
)

# Roughly by frequency (England and Wales), then a tail of less common and diverse surnames.
LAST_NAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
    "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur "
    "Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks "
    "West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth "
    "Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster "
    "Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland "
    "Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah "
    "Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross "
    "Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald MacDonald Yates Hodgson "
    "Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin "
    "Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson "
    "Rahman Miah Chowdhury Islam Uddin Nguyen Chen Wang Li Zhang Kowalski Nowak Wisniewski Okafor "
    "Okonkwo Adeyemi Mensah Boateng Rossi Russo Ferrari Silva Santos Costa Fernandes Yilmaz Demir "
    "Kaya Papadopoulos Novak Horvat Smyth Smythe Thomson Browne Jonson Clark-Jones"
)

TOWNS = _words(
    "London Manchester Birmingham Leeds Liverpool Bristol Sheffield Nottingham Leicester Coventry "
    "Bradford Cardiff Swansea Oxford Cambridge Reading Brighton Southampton Portsmouth Norwich "
    "York Exeter Bath Chester Derby Stoke-on-Trent Wolverhampton Newcastle Sunderland Durham"
)

STREETS = _parts(
    "High Street|Station Road|Church Lane|Victoria Road|Green Lane|Manor Road|Park Avenue|"
    "Queens Road|The Crescent|Mill Lane|Kings Road|Grange Road|Orchard Close|Chestnut Drive|"
    "Albert Street|Windsor Road|Elm Grove|Meadow View|Springfield Road|Highfield Avenue"
)

# A long tail of rarer English surnames, built from common place-name parts: most people do not
# have a top-300 surname, so without a tail the common ones would be far too common.
_TAIL_STARTS = _words(
    "Ash Brad Carl Dun Elm Fair Gold Hol Kings Lang Mor North Pen Ray Stan Thorn Wal Whit Hay "
    "Black Brook Craw Hart Middle Ather Bar Bur Chad Cran Ed Farn Glad Hather Kel Lyd Mar Ned Ows "
    "Pil Rad"
)
_TAIL_ENDS = _words(
    "ley ton worth field ford wood by ham well more dale bridge stone hurst cott combe wick den shaw ridge"
)
TAIL_LAST_NAMES = tuple(start + end for start in _TAIL_STARTS for end in _TAIL_ENDS)

# Listed surnames follow the rough rank-frequency curve of England and Wales (Smith about 1.3%
# of people); the tail shares what is left evenly.
_LISTED_SHARE = [0.0126 * (rank + 1) ** -0.75 for rank in range(len(LAST_NAMES))]
_TAIL_SHARE = (1 - sum(_LISTED_SHARE)) / len(TAIL_LAST_NAMES)
_ALL_LAST_NAMES = (*LAST_NAMES, *TAIL_LAST_NAMES)
_ALL_WEIGHTS = (*_LISTED_SHARE, *([_TAIL_SHARE] * len(TAIL_LAST_NAMES)))


def random_person(rng: random.Random) -> tuple[str, str, str]:
    """(first name, last name, sex) drawn with a realistic spread."""
    sex = "female" if rng.random() < 0.55 else "male"  # clinics see more women than men
    first = rng.choice(FEMALE_FIRST_NAMES if sex == "female" else MALE_FIRST_NAMES)
    last = rng.choices(_ALL_LAST_NAMES, weights=_ALL_WEIGHTS)[0]
    return first, last, sex


def uk_mobile(index: int) -> str:
    """A well-formed UK mobile number in E.164, one per index (0 to 799,999)."""
    if not 0 <= index < 800_000:
        raise ValueError("index out of range")
    # 07700 1xxxxx to 07700 8xxxxx: valid mobile numbers (libphonenumber rejects the Ofcom
    # drama range 07700 900xxx, which the validators would refuse).
    return f"+447700{100_000 + index:06d}"
