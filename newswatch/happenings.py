"""What kind of event a headline reports, at what kind of place, with what kind of missile, and who sent a
greeting: what tells apart two reports of one beat that name the same people within a day ("Kim Jong Un
observes a missile test" and "Kim Jong Un inspects a tank plant"; Rudenko arrives in Pyongyang, Rudenko meets
an ambassador in Moscow; Putin's greeting to Kim and Kim's thanks for it), which a multilingual sentence vector
scores as close as two reports of one event (cosine 0.55-0.68 where 0.51 groups).

Small hand-kept tables of the words wire headlines use, in English (whole word forms), Russian (stems: the
case and verb endings follow) and Korean (pieces of a word: Korean writes "시험발사를", "현지지도하시였다",
"정상회담…" as one word). Only the headline is read, but for a launch's missile class when the headline names
none: a lead recalls other events ("a day after its launch", "amid the drills"). ``classifiers/concepts.py``
groups a visit, a treaty and a greeting into one concept ("ties"), which is what a topic needs and the
opposite of what this needs.
A word a wire uses for two kinds ("receives" a visitor or a message, "принял" a guest or a parade) is in
neither: a headline whose kind is not found vetoes nothing, so every gap in the tables errs towards a merge.
(``VISITS`` reads them as a reception, which vetoes only an arrival or a tour.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .actors import sender

# Kind → (whole words: English forms, and the Russian and Korean words whose stem or piece would read other words
# too; Russian stems; Korean word pieces). Military aircraft entering an air defence zone are the patrol's flight
# ("enter", "진입" as a word: "궤도진입" is a satellite reaching orbit), an exercise as the patrol is.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "launch": (("launch", "launches", "launched", "fire", "fires", "fired", "test", "tests", "tested"),
               ("пуск", "запуск", "запусти", "выпусти", "испыта"),
               ("발사", "사격", "쏘아", "쐈")),
    "statement": (("statement", "statements", "warns", "warned", "slams", "slammed", "denounces", "denounced",
                   "vows", "rejects", "rejected", "criticizes", "criticized", "blasts", "accuses", "threatens",
                   "spokesman", "spokesperson", "commentary", "speech", "ridicules", "calls", "called", "urges",
                   "urged", "blames", "blamed"),
                  ("заявлени", "пригрози", "раскритик", "предупреди", "обвини", "назвал", "назвала", "назвали",
                   "комментар", "пообеща"),
                  ("담화", "성명", "경고", "비난", "논평", "대변인", "연설", "경축사")),
    # A council's session is a meeting ("СБ ООН провел экстренное заседание", "안보리, … 긴급회의"), which a
    # headline of the Security Council on a launch shares with "Security Council meets"; not "회의" alone:
    # "안보회의" is Russia's Security Council and "최고인민회의" the Supreme People's Assembly.
    "meeting": (("talks", "meet", "meets", "met", "meeting", "summit"),
                ("переговор", "встрет", "встреч", "беседова", "саммит", "заседани"),
                ("회담", "접견", "만나", "만났", "면담", "예방", "회동", "정상회", "긴급회의")),
    "visit": (("visit", "visits", "visited", "arrives", "arrive", "arrived", "arrival", "inspects", "inspected",
               "inspection", "tours", "toured", "lands", "landed", "docks", "docked"),
              ("визит", "прибыл", "прибыт", "прилете", "посети", "посещ", "осмотре", "проинспектир", "инспектир",
               "побывал", "приземли"),
              ("방문", "도착", "방북", "방러", "방중", "방한", "현지지도", "시찰", "입항", "순방")),
    "greeting": (("greeting", "greetings", "congratulates", "congratulated", "congratulatory", "congratulations",
                  "message", "messages", "letter", "letters", "card", "cards", "condolence", "condolences"),
                 ("поздрав", "послани", "письм", "телеграм", "открытк", "соболезн"),
                 ("축전", "축하", "편지", "서한", "친서", "연하장", "조전", "위문")),
    "exercise": (("drill", "drills", "exercise", "exercises", "wargame", "wargames", "maneuvers", "manoeuvres",
                  "patrol", "patrols", "enter", "enters", "entered", "intrude", "intrudes", "intruded",
                  "incursion", "incursions", "진입"),
                 ("учени", "маневр", "патрул", "стрельб", "вторг", "вторжени"),
                 ("훈련", "연습", "초계", "순찰", "무단진입", "진입했", "진입하", "침범")),
    "deployment": (("deploy", "deploys", "deployed", "deployment", "dispatch", "dispatches", "dispatched",
                    "reinforcements"),
                   ("отправк", "переброс", "развертыван", "командирова"),
                   ("파병", "파견", "증파")),
    "signing": (("sign", "signs", "signed", "signing", "ratifies", "ratified", "ratification", "ratify"),
                ("подписа", "ратифиц"),
                ("서명", "조인", "비준", "체결")),
    "opening": (("open", "opens", "opened", "opening", "inaugurates", "inaugurated", "ceremony", "groundbreaking",
                 "resumes", "resumed", "parade", "открыт", "открыта"),
                ("открыти", "открыл", "открыва", "церемон", "возобнов", "парад"),
                ("개통", "개관", "개막", "착공", "준공", "재개", "기념식", "열병식")),
    "sanctions": (("sanction", "sanctions", "sanctioned", "veto", "vetoes", "vetoed"),
                  ("санкци", "вето", "заблокирова"),
                  ("제재", "거부권")),
    # What a visitor does besides the talks, each reported on its own by KCNA and the wires within a day of them
    # (the same person, the same city): a wreath or flowers at a memorial, a banquet or reception given for the
    # guest, a concert or show watched.
    "memorial": (("wreath", "wreaths", "flowers", "tribute", "memorial", "cemetery", "mourns", "mourned"),
                 ("венок", "венк", "цвет", "почтил", "почтить", "мемориал", "памятник", "монумент", "могил"),
                 ("헌화", "화환", "참배", "추모", "묵념", "기념비", "기념탑")),
    "banquet": (("banquet", "banquets", "reception", "dinner", "luncheon", "feast"),
                ("банкет", "прием", "ужин", "обед"),
                ("연회", "만찬", "오찬", "리셉션")),
    "performance": (("concert", "concerts", "gala", "ballet", "opera"),
                    ("концерт", "спектакл", "гала", "балет"),
                    ("공연", "관람", "음악회", "연주회")),
}
# A reply names the greeting it answers ("a message of thanks" for a greeting): the reply is its kind. KCNA's
# "답전을 보내여왔다" (a reply came) names no greeting word: a reply word in a headline that names no other kind
# is a reply too.
_REPLY = ((("thanks", "thank", "reply", "replies"), ("благодар", "поблагодар"), ("감사", "답전", "답신")))

# Who speaks for a state: a headline led by one of them (within its first words: "KPA General Staff Spokesman
# Warns…", "Генштаб армии КНДР пригрозил ответом на учения", "北 총참모부") reports a statement, whatever drill or
# launch it names as what the statement is about. Not a ministry as such ("Глава МИД КНДР прибыла", "외교부,
# 러시아대사 초치" report a journey and a summons) nor "Staff" (the Joint Chiefs of Staff report launches).
_SPEAKERS = (("spokesman", "spokesperson", "spokeswoman", "commentary"),
             ("генштаб", "представител", "пресс-секретар"),
             ("총참모부", "대변인", "논평"))
_LEADING_WORDS = 4
# A party that answers events (a security council, a foreign ministry and its spokeswoman, the Kremlin) leading a
# headline (within its first words: "유엔 안보리", "Russia's foreign ministry", "МИД КНР", 러 외무차관 "…") tells
# what the party did about an event, not the event: "안보리, 北 ICBM 발사 관련 긴급회의", 러 외무차관 "北 ICBM
# 발사는 …", "СБ ООН обсудил запуск спутника КНДР". A launch, drill or deployment it names is what the party
# answers, not a kind it reports (``_ANSWERED_KINDS``); what the party does itself (talks, a visit, a signing:
# "Глава МИД КНДР прибыла") still is. Such a headline that reports no more than words is a reaction, and a
# reaction is another event than a report, led by no party, of a launch, drill, deployment, visit, opening or
# signing (``_EVENT_KINDS``); the words of two different parties are two events. "В Кремле", "외교부장" further
# in are a place and a guest, not the subject. Councils are one party: Seoul's NSC is "Совет национальной
# безопасности" in Russian.
_PARTIES = {"council": (("council", "nsc", "сб"), ("совбез", "совет"), ("안보리", "안보실")),
            "foreign ministry": (("foreign", "zakharova"), ("мид", "захаров"), ("외교부", "외무", "자하로바")),
            "kremlin": (("kremlin",), ("кремль",), ("크렘린",))}
_ANSWERED_KINDS = frozenset(("launch", "exercise", "deployment"))
_EVENT_KINDS = frozenset(("launch", "exercise", "deployment", "visit", "opening", "signing"))
# A headline that is a speaker and their words after a colon ("Руденко: пуск МБР в КНДР стал ответом на …",
# "Небензя в СБ ООН: …") reports what was said, not the event it names: never the event a party's reaction answers.
_SPEAKER_COLON = re.compile(r"^\S+(\s\S+){0,3}:\s")
# An answer to an event (a protest, a condemnation, an envoy summoned) is what a headline reports wherever the
# word stands and whatever event it names: "Seoul protests to Chinese, Russian attaches over warplane
# incursion", "US, South Korea, Japan condemn North Korea's launch", "정부, 北 미사일 발사 규탄", "외교부,
# 러시아대사 초치". Korean puts the verb after the event, so "first kind word" (as for statements) cannot
# tell; quoted words stay out (합참 "규탄" after a launch is still the launch).
_REACTIONS = (("protest", "protests", "protested", "condemn", "condemns", "condemned", "condemnation", "summon",
               "summons", "summoned"),
              ("протест", "осуди", "осужд", "вызва"),
              ("항의", "규탄", "초치"))
# Talks still to come are not what a headline reports: "arrives in Moscow ahead of talks with Putin", "in
# Pyongyang for talks", "прибыл на переговоры", "라브로프와 회담 예정", "회담 앞두고 도착". The words before the
# meeting word (English, Russian) or after it (Korean) that say so:
_AHEAD_BEFORE = frozenset(("ahead", "before", "for", "to", "для", "на", "перед"))
_AHEAD_AFTER = ("앞두고", "앞서", "예정", "위해")
# An event a headline names as what came before ("drills with South Korea, Japan after North Korea's ICBM test",
# "учения после пуска", "공중훈련…北 미사일 발사 하루 만") is not what it reports, when it reports something
# before it: the word that says so stands before that event (English, Russian) or right after it (Korean).
_AFTER_BEFORE = frozenset(("after", "following", "после"))
_AFTER_AFTER = ("하루", "이후", "직후", "이어")
# A launch a Korean headline names with the particle 에 ("北 미사일 발사에": at, to the launch) is what the headline's
# subject answers, not what it reports: "中 외교부, 北 미사일 발사에 "각 측 자제해야"", "이 대통령, 北 정찰위성
# 발사에 긴급 NSC 주재" report a ministry's words and a session; read as a launch, they were vetoed against their
# English reports ("China urges restraint", "Lee convenes emergency security meeting") and let through against the
# launch itself.
_ANSWERED = "에"
# A visit still to come ("Putin to visit North Korea this week", "Путин посетит КНДР", "방문 예정") is an
# announcement, another event than the arrival it announces.
_TO_COME_BEFORE = frozenset(("to", "will"))
_TO_COME_WORDS = frozenset(("посетит", "прилетит", "прибудет"))

# A drill's start and its end are two events of one drill, and wires write both with the same words.
PHASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "start": (("start", "starts", "started", "begin", "begins", "began", "kick", "kicks", "launches", "начал",
               "начала", "начали", "начался", "началась", "начались", "начинают", "начинает"),
              ("старт", "стартова"),
              ("시작", "돌입", "개시")),
    "end": (("end", "ends", "ended", "conclude", "concludes", "concluded", "wrap", "wraps", "wrapped", "close",
             "closes", "closed"),
            ("заверш", "закончи", "окончен"),
            ("마무리", "종료", "마쳐", "끝나", "끝내")),
}

# A visit is an arrival (a delegation lands, a warship makes a port call) or a tour (a leader goes round a
# factory or aboard a ship), and a headline that names one and not the other tells which: a fleet's port call
# and Kim Jong Un touring the ship the day after are two events at one port. "Visit", "방문", "визит",
# "посетил" say neither and veto nothing. Read in the headline whatever kind it names ("aboard" is no kind).
# A reception is the host receiving the guest ("Kim Jong Un receives…", "Ким Чен Ын принял…", "김정은, …접견"),
# reported on its own a day after the guest's arrival in the same words: an arrival and a reception are two
# events. Whole Russian words only ("приняли закон" is a law passed), and not "принял участие" (took part);
# "receives" a message is no arrival either.
VISITS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "arrival": (("arrives", "arrive", "arrived", "arrival", "lands", "landed", "docks", "docked", "portcall",
                 "portcalls"),
                ("прибыл", "прибыт", "прилете", "прилет", "приземли", "заход", "зашел", "зашл"),
                ("도착", "입항", "기항")),
    "tour": (("tours", "toured", "inspects", "inspected", "inspection", "aboard", "boards", "boarded"),
             ("осмотре", "проинспектир", "инспектир", "борт"),
             ("시찰", "현지지도", "돌아보", "돌아봐", "돌아봤", "승선")),
    "reception": (("receives", "received", "receive", "принял", "приняла", "принимает"), (), ("접견",)),
}

# Missile classes, read in the headline, and in the lead only when the headline names none (the class is often
# only in the lead, but a lead also recalls the day before's launch: "전날 탄도미사일 이어", "a day after its
# ballistic missiles"): two launches of different classes are two events. A rocket launcher or gun test-fired
# (방사포, РСЗО, "multiple rocket launcher", artillery) is a class of its own: Kim watches a launcher test and
# Seoul reports ballistic missiles the next day in the same words. "Ballistic" alone is no class: Seoul's first
# report of an intermediate-range or short-range launch says only "ballistic missile", and a launch report's
# headline naming it would no longer send the class to the lead.
MISSILES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "intercontinental": (("icbm", "icbms", "intercontinental"), ("мбр", "межконтинентальн"), ("대륙간",)),
    "intermediate-range": (("irbm", "intermediate"), ("средней",), ("중거리", "중장거리")),
    "short-range": (("srbm", "srbms", "short"), ("малой",), ("단거리",)),
    "cruise": (("cruise",), ("крылат",), ("순항",)),
    "anti-aircraft": (("aircraft",), ("зенитн",), ("반항공", "지대공")),
    "satellite": (("satellite",), ("спутник",), ("위성",)),
    "rocket artillery": (("launcher", "launchers", "mlrs", "artillery", "howitzer", "howitzers"),
                         ("рсзо", "залпов", "артиллер", "гаубиц"),
                         ("방사포", "포병", "자주포", "곡사포", "해안포")),
}

# What a visit or ceremony is at, read in the headline: Kim Jong Un inspects a shipyard and a munitions
# factory on one day, and KCNA reports both the next morning in the same words. Kinds of place, not names
# (a table of every factory would be endless); words every factory shares ("factory", "завод", "공장") are
# in none, so "a tank plant" and "a factory making tanks" do not differ.
SITES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "shipyard": (("shipyard", "shipyards", "dockyard"), ("верф",), ("조선소",)),
    "munitions": (("munitions", "shells", "ammunition"), ("боеприпас", "снаряд"), ("군수", "포탄", "탄약")),
    "tanks": (("tank", "tanks"), ("танк",), ("전차",)),
    "farm": (("farm", "farms", "greenhouse"), ("ферм", "теплич"), ("농장", "온실")),
    "hospital": (("hospital", "clinic"), ("больниц", "госпитал", "клиник"), ("병원",)),
    "machine works": (("machine", "machinery"), ("машиностр", "станкостр"), ("기계",)),
    "chemicals": (("fertilizer", "chemical"), ("удобрен", "химическ"), ("비료", "화학")),
    "local industry": (("regional", "local"), ("местн",), ("지방공업",)),
    "embassy": (("embassy",), ("посольств",), ("대사관",)),
    "military unit": (("unit", "units", "base"), ("дивизи", "полк"), ("부대", "기지")),
    "housing": (("housing", "homes", "flats"), ("жил",), ("살림집", "주택")),
    "school": (("school", "university"), ("школ", "университет"), ("학교", "대학")),
    "nuclear": (("nuclear", "uranium", "enrichment"), ("ядерн", "уран"), ("핵무기", "핵물질", "우라늄", "핵시설")),
    "performance": (("performance", "concert", "theatre", "theater"), ("концерт", "спектакл", "театр"),
                    ("공연", "극장")),
}

_WORD = re.compile(r"[a-z]+|[а-я]+|[가-힣]+")


def _finder(table: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]):
    """A function giving the position of the first of ``words`` the table has (None when none is)."""
    whole_words, russian_stems, korean_pieces = table
    whole = frozenset(whole_words)

    def found(words: list[str]) -> int | None:
        for position, word in enumerate(words):
            if word in whole:
                return position
            if "а" <= word[0] <= "я":
                if word.startswith(russian_stems):
                    return position
            elif "가" <= word[0] <= "힣" and any(piece in word for piece in korean_pieces):
                return position
        return None

    return found


_KIND_FINDERS = {kind: _finder(table) for kind, table in KINDS.items()}
_REPLY_FINDER = _finder(_REPLY)
_SPEAKER_FINDER = _finder(_SPEAKERS)
_REACTION_FINDER = _finder(_REACTIONS)
_PARTY_FINDERS = {party: _finder(table) for party, table in _PARTIES.items()}
_MISSILE_FINDERS = {missile: _finder(table) for missile, table in MISSILES.items()}
_SITE_FINDERS = {site: _finder(table) for site, table in SITES.items()}
_PHASE_FINDERS = {phase: _finder(table) for phase, table in PHASES.items()}
_VISIT_FINDERS = {visit: _finder(table) for visit, table in VISITS.items()}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


# What a headline quotes is what someone said, not what happened: 김여정 "한미 훈련은 도발" is a statement,
# 국정원 "北, 핵실험 준비" a briefing. (Single quotes and «» name things: '자유의 방패', «Союз-2.1б».)
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|‘[^’]*’')


def kinds(headline: str) -> frozenset[str]:
    """The kinds of event a headline reports outside what it quotes (none when it names none the table knows).

    A statement is what happened when the headline is led by a state's speaker, names the statement before
    anything else ("Kim Yo-jong warns of response to drills"; not "North Korea fires missiles, warns…") or
    names a protest, condemnation or summons anywhere; talks still to come are not (an arrival "ahead of
    talks" is an arrival), nor an event it names as what came before ("a drill after the launch"), nor a launch
    a Korean headline names as what its subject answers ("… 발사에"), nor a launch, drill or deployment named by a
    headline a party that answers events leads ("안보리, 北 ICBM 발사 관련 긴급회의")."""
    words = _words(_QUOTED.sub(" ", headline))
    positions = {kind: position for kind, finder in _KIND_FINDERS.items()
                 if (position := finder(words)) is not None}
    if "launch" in positions and words[positions["launch"]].endswith(_ANSWERED):
        del positions["launch"]
    if _leading_party(words):
        positions = {kind: position for kind, position in positions.items() if kind not in _ANSWERED_KINDS}
    speaker = _SPEAKER_FINDER(words)
    if (speaker is not None and speaker < _LEADING_WORDS) or _REACTION_FINDER(words) is not None or (
            "statement" in positions and positions["statement"] == min(positions.values())):
        return frozenset({"statement"})
    found = set(positions)
    after = next((position for position, word in enumerate(words) if word in _AFTER_BEFORE), None)
    if after is not None and any(position < after for position in positions.values()):
        found -= {kind for kind, position in positions.items() if position > after}
    found -= {kind for kind, position in positions.items()
              if len(found) > 1 and words[position + 1:position + 2]
              and words[position + 1].startswith(_AFTER_AFTER)}
    if "visit" in found:
        at = positions["visit"]
        if (words[at] in _TO_COME_WORDS or words[at - 1:at] and words[at - 1] in _TO_COME_BEFORE
                or any(word.startswith("예정") for word in words[at:at + 2]) or words[at].endswith("예정")):
            found = (found - {"visit"}) | {"announcement"}
    if "meeting" in found:
        at = positions["meeting"]
        if (_AHEAD_BEFORE.intersection(words[max(0, at - 3):at])
                or any(word.startswith(_AHEAD_AFTER) or word.endswith("차") for word in words[at:at + 2])):
            found.discard("meeting")
    if _REPLY_FINDER(words) is not None and ("greeting" in found or not found):
        found = (found - {"greeting"}) | {"reply"}
    return frozenset(found)


def _leading_party(words: list[str]) -> str | None:
    """The party of ``_PARTIES`` named first among a headline's leading words, if one is."""
    found = {party: at for party, finder in _PARTY_FINDERS.items()
             if (at := finder(words[:_LEADING_WORDS])) is not None}
    return min(found, key=found.__getitem__) if found else None


def party(headline: str) -> str | None:
    """The party that answers events (``_PARTIES``) leading a headline, outside what it quotes, if one does."""
    return _leading_party(_words(_QUOTED.sub(" ", headline)))


def _found(finders: dict, text: str) -> frozenset[str]:
    words = _words(text)
    return frozenset(name for name, finder in finders.items() if finder(words) is not None)


# KCNA's "super-large" 600-mm rocket launcher is what Seoul's Joint Chiefs count as a short-range ballistic missile:
# one weapon, reported as either class.
_SUPER_LARGE = _finder((("super",), ("сверхкрупн",), ("초대형",)))


def missiles(text: str) -> frozenset[str]:
    """The missile classes a text names."""
    found = _found(_MISSILE_FINDERS, text)
    if "rocket artillery" in found and _SUPER_LARGE(_words(text)) is not None:
        return (found - {"rocket artillery"}) | {"short-range"}
    return found


def sites(headline: str) -> frozenset[str]:
    """The kinds of place a headline names."""
    return _found(_SITE_FINDERS, headline)


def visits(headline: str) -> frozenset[str]:
    """Whether a headline tells of an arrival, a tour or a reception ("port call" read as one word)."""
    headline = re.sub(r"port\s+call", "portcall", headline, flags=re.IGNORECASE)
    return _found(_VISIT_FINDERS, re.sub(r"принял\w*\s+участи", "участи", headline, flags=re.IGNORECASE))


def phases(headline: str) -> frozenset[str]:
    """Whether a headline tells of an event's start or its end."""
    return _found(_PHASE_FINDERS, headline)


@dataclass(frozen=True)
class Happening:
    """What a report says happened: the kinds of event its headline names, the missile classes of a launch
    (its headline's, or its lead's when the headline names none), the kinds of place its headline names, and
    who sent a greeting or message, whether a drill's headline tells of its start or its end, the party that
    answers events leading the headline, and whether the headline is a speaker's words after a colon."""

    kinds: frozenset[str]
    missiles: frozenset[str]
    sites: frozenset[str]
    sender: str | None
    phases: frozenset[str] = frozenset()
    visits: frozenset[str] = frozenset()
    party: str | None = None
    speaker_colon: bool = False

    @classmethod
    def of(cls, headline: str, headline_and_lead: str, on: str = "9999") -> Happening:
        """``on``: the report's day (ISO date), which says who held a title that sent a greeting."""
        found = kinds(headline)
        classes = (missiles(headline) or missiles(headline_and_lead)) if "launch" in found else frozenset()
        return cls(found, classes, sites(headline),
                   sender(headline, on) if "greeting" in found or "reply" in found else None,
                   phases(headline) if "exercise" in found else frozenset(), visits(headline),
                   party(headline), bool(_SPEAKER_COLON.match(headline)))


def happenings_differ(a: Happening, b: Happening) -> bool:
    """Whether two reports tell of different events: their headlines name kinds of event and none in common
    (a launch and a statement, a visit and a patrol, a greeting and the thanks for it), two launches name
    different missile classes, two headlines name different kinds of place (a shipyard, a munitions
    factory), two greetings name different senders (Putin's to Kim, Kim's to Putin), or two drills' headlines
    tell one of its start and the other of its end, or one is a party's reaction and the other reports the event
    itself, or two different parties answer. A headline whose kind or place is not found, a launch whose class is
    not named, a sender not told: no veto."""
    if a.kinds and b.kinds and not a.kinds & b.kinds:
        return True
    if a.party and b.party and a.party != b.party:
        return True
    if _reaction_and_event(a, b) or _reaction_and_event(b, a):
        return True
    if a.missiles and b.missiles and not a.missiles & b.missiles:
        return True
    if a.sites and b.sites and not a.sites & b.sites:
        return True
    if a.phases and b.phases and not a.phases & b.phases:
        return True
    if a.visits and b.visits and not a.visits & b.visits:
        return True
    return a.sender is not None and b.sender is not None and a.sender != b.sender


def _reaction_and_event(reaction: Happening, event: Happening) -> bool:
    """Whether ``reaction``'s headline is a party's words about an event (led by a party of ``_PARTIES``, no kind
    but a statement) and ``event``'s, led by no party, reports a launch, drill, deployment, visit, opening or
    signing, and is no speaker's words after a colon: 러 외무차관 "北 ICBM 발사는 …" and "North Korea fires ICBM",
    크렘린 "푸틴, … 국빈방문" and "Putin arrives in Pyongyang"."""
    return (reaction.party is not None and reaction.kinds <= {"statement"} and event.party is None
            and not event.speaker_colon and bool(event.kinds & _EVENT_KINDS))

