"""What kind of event a headline reports, whichever language and wire writes it."""

from newswatch.happenings import Happening, happenings_differ, kinds, missiles, party, sites, visits


def _happening(headline: str, lead: str = "") -> Happening:
    return Happening.of(headline, f"{headline}. {lead}")


def test_a_kind_of_event_is_found_in_english_korean_kcna_korean_and_russian_headlines():
    assert kinds("N. Korea fires ballistic missile into East Sea: JCS") == {"launch"}
    assert kinds("КНДР запустила баллистическую ракету в сторону Японского моря") == {"launch"}
    assert kinds("경애하는 김정은동지께서 신형미싸일 시험발사를 참관하시였다") == {"launch"}
    assert kinds("라브로프, 원산서 최선희와 외무장관 회담") == {"meeting"}
    assert kinds("Лавров провел переговоры с Цой Сон Хи в Вонсане") == {"meeting"}
    assert kinds("경애하는 김정은동지께서 남포조선소를 현지지도하시였다") == {"visit"}
    assert kinds("США и Южная Корея начали учения Freedom Edge") == {"exercise"}
    assert kinds("Путин подписал закон о ратификации договора с КНДР") == {"signing"}
    # "Receives" a visitor or a message, "принял" a guest or a parade: neither kind, so no veto.
    assert kinds("Ким Чен Ын принял Шойгу в Пхеньяне") == frozenset()


def test_a_quoted_remark_is_not_what_happened_and_a_reply_is_not_the_greeting_it_answers():
    assert kinds('김여정 "한미 연합공중훈련, 강력 대응 직면할 것"') == frozenset()
    assert kinds("Kim Yo-jong warns of 'strong response' to S. Korea-U.S. air drills") == {"statement"}
    assert kinds("Kim Jong Un Sends Message of Thanks to Russian President") == {"reply"}
    assert kinds("Путин направил Ким Чен Ыну поздравление") == {"greeting"}


def test_missile_classes_and_kinds_of_place():
    assert missiles("Kim Jong Un Oversees Test-fire of New-type Anti-aircraft Missiles") == {"anti-aircraft"}
    assert missiles("Ким Чен Ын наблюдал за пуском стратегических крылатых ракет") == {"cruise"}
    assert sites("Respected Comrade Kim Jong Un Inspects Nampho Shipyard") == {"shipyard"}
    assert sites("경애하는 김정은동지께서 중요군수공업기업소를 현지지도하시였다") == {"munitions"}
    assert sites("Ким Чен Ын посетил танковый завод") == {"tanks"}


def test_reports_differ_by_kind_of_event_missile_place_or_sender_and_never_on_what_is_not_found():
    launch, statement = _happening("North Korea fires missiles"), _happening("Press Statement of Kim Yo Jong")
    assert happenings_differ(launch, statement)
    assert not happenings_differ(launch, _happening("КНДР произвела пуск ракет"))
    assert not happenings_differ(launch, _happening("Ким Чен Ын принял Шойгу"))  # no kind found: no veto
    assert happenings_differ(_happening("Kim Oversees Test-fire of Anti-aircraft Missiles"),
                             _happening("Ким Чен Ын наблюдал за пуском крылатых ракет"))
    assert happenings_differ(_happening("Kim Jong Un Inspects Nampho Shipyard"),
                             _happening("경애하는 김정은동지께서 중요군수공업기업소를 현지지도하시였다"))
    assert happenings_differ(_happening("Путин поздравил Ким Чен Ына с Новым годом"),
                             _happening("Ким Чен Ын поздравил Путина с Новым годом"))
    assert not happenings_differ(_happening("Путин поздравил Ким Чен Ына"),
                                 _happening("Kim Jong Un Receives Congratulatory Message from Russian President"))
    assert happenings_differ(_happening("Ким Чен Ын поздравил Путина с Новым годом"),
                             _happening("Kim Jong Un Receives New Year Greeting Card from Russian President"))


def test_a_statement_about_an_event_is_a_statement_and_an_arrival_for_talks_is_an_arrival():
    # Led by a state's speaker, or naming the statement first: the drill it names is what it is about.
    assert kinds("Генштаб армии КНДР пригрозил ответом на учения США и Южной Кореи") == {"statement"}
    assert kinds("KPA General Staff Spokesman Warns of Countermeasures against U.S.-ROK War Drills") == {"statement"}
    assert kinds('北 총참모부 "을지연습은 침략전쟁 연습"') == {"statement"}
    assert kinds("Zakharova calls US-Japan-South Korea air drills provocation") == {"statement"}
    # An event named first, a statement after it: both. A minister or the Joint Chiefs are not speakers.
    assert kinds("North Korea fires missiles, warns of more") == {"launch", "statement"}
    assert kinds("Глава МИД КНДР Цой Сон Хи прибыла в Москву") == {"visit"}
    assert happenings_differ(_happening("S. Korea, U.S. kick off Freedom Shield exercise"),
                             _happening("Генштаб армии КНДР пригрозил ответом на учения США и Южной Кореи"))
    # Talks still to come are not what happened: an arrival for talks is the journey, the talks another event,
    # and "in Pyongyang for talks" names no kind (so it still groups with the arrival).
    assert kinds("N. Korea's Kim arrives in Moscow by train ahead of talks with Putin") == {"visit"}
    assert kinds("Belousov in Pyongyang for talks with Kim Jong Un") == frozenset()
    assert kinds("최선희 北외무상, 모스크바 도착…라브로프와 회담 예정") == {"visit"}
    assert happenings_differ(_happening("N. Korea's Kim arrives in Moscow by train ahead of talks with Putin"),
                             _happening("Путин и Ким Чен Ын провели переговоры в Кремле"))


def test_a_protest_a_condemnation_or_a_summons_is_a_statement_whatever_event_it_names():
    # An answer to an event, wherever the word stands (Korean puts the verb after the event it answers):
    answers = ("South Korea protests to Chinese, Russian attaches over warplane incursion",
               "US, Japan, South Korea condemn North Korea's missile launch", "정부, 北 탄도미사일 발사 규탄",
               "외교부, 러시아대사 초치…북한군 철수 촉구", "МИД Южной Кореи вызвал посла России из-за сообщений о военных КНДР")
    assert {headline: kinds(headline) for headline in answers} == dict.fromkeys(answers, {"statement"})
    # A quoted condemnation is what someone said about the launch, which is still what happened:
    assert kinds('北, 서해 완충구역 북방서 해안포 200여발 사격…합참 "규탄"') == {"launch"}
    assert happenings_differ(_happening("Бомбардировщики России и Китая провели совместное патрулирование"),
                             _happening("South Korea protests to Chinese, Russian attaches over warplane incursion"))
    assert not happenings_differ(
        _happening("US, Japan, South Korea foreign ministers condemn North Korea-Russia military cooperation"),
        _happening("США, Япония и Южная Корея осудили военное сотрудничество России и КНДР"))


def test_a_launchs_missile_class_is_read_from_its_headline_first_and_from_the_lead_when_the_headline_has_none():
    # The lead of a cruise-missile launch recalls the day before's ballistic missiles: the headline's class.
    cruise = _happening("北, 서해상으로 순항미사일 여러 발 발사…전날 탄도미사일 이어 이틀째",
                        "북한이 전날 동해상으로 단거리탄도미사일을 발사한 데 이어 순항미사일을 쐈다.")
    assert cruise.missiles == {"cruise"}
    assert happenings_differ(_happening("N. Korea fires 2 short-range ballistic missiles into East Sea: JCS"), cruise)
    # A headline that names no class ("ballistic" is every class but cruise) leaves it to the lead:
    ballistic = _happening("North Korea fires two ballistic missiles toward sea, South Korea says",
                           "North Korea fired two short-range ballistic missiles off its east coast.")
    assert ballistic.missiles == {"short-range"}
    assert not happenings_differ(ballistic, _happening("КНДР запустила две баллистические ракеты малой дальности"))


def test_an_incursion_is_the_patrols_flight_and_a_deployment_is_a_kind_of_its_own():
    assert kinds("Chinese, Russian warplanes enter South Korea's air defence zone, Seoul scrambles jets") == {"exercise"}
    assert kinds("중러 군용기 9대 카디즈 진입 후 이탈…軍 전투기 투입 대응") == {"exercise"}
    assert kinds("정찰위성 《만리경-3》호 궤도진입 성공") == frozenset()  # a satellite reaching orbit
    assert kinds("Разведка Южной Кореи сообщила о новой отправке военных КНДР в Россию") == {"deployment"}
    assert kinds("(LEAD) N. Korea confirms troop deployment to Russia for first time") == {"deployment"}
    assert not happenings_differ(_happening("Ту-95МС и H-6K выполнили совместное патрулирование"),
                                 _happening("Chinese, Russian warplanes enter South Korea's air defence zone"))


def test_a_reply_word_alone_an_event_that_came_before_and_a_visit_to_come_are_not_the_event_reported():
    assert kinds("김정은동지께 로씨야련방 대통령이 답전을 보내여왔다") == {"reply"}
    assert kinds("US flies B-1B bomber in drills with South Korea, Japan after North Korea's ICBM test") == {"exercise"}
    assert kinds("한미일, B-52H 전개 공중훈련…北 극초음속 미사일 발사 하루 만") == {"exercise"}
    assert kinds("North Korea fires missile after warning of response to drills") == {"launch"}
    assert kinds("Putin to visit North Korea this week, Kremlin says") == {"announcement"}
    assert kinds("Путин посетит КНДР на следующей неделе") == {"announcement"}
    assert kinds("Путин прилетел в Пхеньян") == {"visit"}
    assert kinds("МИД России пообещал ответить на санкции Южной Кореи") == {"statement"}


def test_a_drills_start_and_its_end_are_two_events():
    start = _happening("Russian, Chinese warships start joint drills in Sea of Japan")
    assert start.phases == {"start"}
    assert happenings_differ(start, _happening("중러 해군, 동해서 연합훈련 마무리"))
    assert not happenings_differ(start, _happening("Корабли России и Китая начали учения в Японском море"))
    assert not happenings_differ(start, _happening("중러 해군 연합훈련"))  # no phase named: no veto


def test_a_rocket_launcher_or_gun_is_a_class_of_its_own_but_the_super_large_launcher_is_short_range():
    launcher = (_happening("김정은, 개량형 240㎜ 방사포 시험사격 참관"),
                _happening("Ким Чен Ын проконтролировал испытания модернизированной РСЗО"),
                _happening("North Korea's Kim oversees test of upgraded multiple rocket launchers"))
    assert all(h.missiles == {"rocket artillery"} for h in launcher)
    assert not happenings_differ(launcher[0], launcher[1]) and not happenings_differ(launcher[1], launcher[2])
    # Kim at the launcher test vs Seoul's short-range ballistic missiles the next day (heldout9-046): two events.
    srbm = _happening("North Korea fires ballistic missiles into the sea, South Korea's military says",
                      "North Korea fired several short-range ballistic missiles off its east coast.")
    assert all(happenings_differ(h, srbm) for h in launcher)
    # KCNA's "super-large" 600-mm launcher is what Seoul counts as a short-range ballistic missile.
    assert missiles("초대형방사포 시험사격") == {"short-range"}
    assert not happenings_differ(_happening("김정은, 초대형방사포 시험사격 참관"), srbm)


def test_a_wreath_a_banquet_or_a_concert_is_an_event_apart_from_the_talks_of_the_same_visit():
    assert kinds("Lavrov lays wreath at Soviet war memorial in Pyongyang") == {"memorial"}
    assert kinds("Лавров возложил цветы к памятнику советским воинам") == {"memorial"}
    assert kinds("라브로프, 평양 해방탑 헌화") == {"memorial"}
    assert kinds("North Korea's Choe Son Hui hosts dinner for Russia's Lavrov") == {"banquet"}
    assert kinds("Цой Сон Хи дала прием в честь Лаврова") == {"banquet"}
    assert kinds("최선희, 라브로프 위한 연회 마련") == {"banquet"}
    assert kinds("Kim, Lavrov watch concert in Pyongyang") == {"performance"}
    assert kinds("Ким Чен Ын и Лавров посетили концерт") == {"visit", "performance"}
    assert kinds("김정은, 라브로프와 공연 관람") == {"performance"}
    talks = _happening("Лавров провел переговоры с Цой Сон Хи в Пхеньяне")
    for other in ("라브로프, 평양 해방탑 헌화", "최선희, 라브로프 위한 연회 마련", "Kim, Lavrov watch concert in Pyongyang"):
        assert happenings_differ(talks, _happening(other))
    # One talks' report naming the dinner too shares a kind with the talks; "почти" (almost) and a weapon's
    # "performance" are no memorial and no show.
    assert not happenings_differ(talks, _happening("Lavrov, Choe hold talks over dinner in Pyongyang"))
    assert kinds("КНДР запустила почти 10 ракет") == {"launch"}
    assert kinds("Kim satisfied with performance of new tank") == frozenset()


def test_a_port_call_and_a_leaders_tour_of_the_ship_are_two_visits():
    assert visits("Russian frigate makes port call in Wonsan") == {"arrival"}
    assert visits("Отряд кораблей ТОФ прибыл в порт Вонсан") == {"arrival"}
    assert visits("러 호위함, 원산항 입항") == {"arrival"}
    assert visits("Kim Jong Un goes aboard Russian frigate") == {"tour"}
    assert visits("Ким Чен Ын осмотрел российский фрегат") == {"tour"}
    assert visits("김정은, 러 호위함 돌아봐") == {"tour"}
    port_call, aboard = _happening("Russian frigate makes port call in Wonsan"), _happening("김정은, 러 호위함 돌아봐")
    assert happenings_differ(port_call, aboard)
    assert not happenings_differ(port_call, _happening("러 호위함, 원산항 입항"))
    # "Visit", "방문", "посетил" tell neither: no veto.
    assert visits("Ким Чен Ын посетил российский фрегат") == frozenset()
    assert not happenings_differ(port_call, _happening("Ким Чен Ын посетил российский фрегат"))


def test_an_arrival_and_the_hosts_reception_of_the_guest_are_two_visits():
    assert visits("Kim Jong Un receives Russian defence delegation") == {"reception"}
    assert visits("Ким Чен Ын принял Евкурова") == {"reception"}
    assert visits("김정은, 러 국방차관 접견") == {"reception"}
    arrival = _happening("Russian deputy defence minister Yevkurov arrives in Pyongyang")
    assert happenings_differ(arrival, _happening("Ким Чен Ын принял российскую военную делегацию"))
    assert not happenings_differ(_happening("김정은, 러 국방차관 접견"), _happening("Ким Чен Ын принял Евкурова"))
    # "Принял участие" (took part) and "приняли" (passed, adopted) are no reception.
    assert visits("Шойгу принял участие в параде") == frozenset()


def test_a_council_session_a_launch_answered_and_a_ferry_docking_are_read_as_what_the_headline_reports():
    # A council's session is a meeting, as "Security Council meets" is; "안보회의" (Russia's Security Council) is not.
    # (The launch the council answers is no kind of the headline it leads: see the test below.)
    assert kinds("유엔 안보리, 北 중거리미사일 발사 긴급회의") == {"meeting"}
    assert kinds("СБ ООН провел экстренное заседание по пуску ракеты КНДР") == {"meeting"}
    assert "meeting" not in kinds("쇼이구 러 안보회의 서기, 또 방북")
    # A launch named with the particle 에 is what the headline's subject answers, not the event it reports.
    assert kinds('中 외교부, 北 미사일 발사에 "각 측 자제해야"') == frozenset()
    assert kinds('이 대통령, 北 정찰위성 발사에 긴급 NSC 주재…"안보리 결의 위반"') == frozenset()
    assert kinds("北, 동해상으로 탄도미사일 발사") == {"launch"}
    assert _happening('中 외교부, 北 미사일 발사에 "각 측 자제해야"').missiles == frozenset()
    # The first ferry docking is an arrival, another event than the line's opening.
    assert kinds("First Russian ferry with tourists docks in North Korea's Rajin") == {"visit"}
    assert happenings_differ(_happening("First Russian ferry with tourists docks in North Korea's Rajin"),
                             _happening("Во Владивостоке открыта паромная линия до порта Раджин в КНДР"))


def test_a_party_that_answers_events_leading_a_headline_reports_its_reaction_not_the_event():
    # A council, a foreign ministry or the Kremlin leading a headline answers the launch it names.
    assert party("UN Security Council meets on North Korea's ICBM launch") == "council"
    assert party('러 외무차관 "北 ICBM 발사는 美 군사적 압박 탓"') == "foreign ministry"
    assert party('크렘린 "푸틴, 24∼25일 北 국빈방문"…4년 만') == "kremlin"
    assert kinds("안보리, 北 ICBM 발사 관련 긴급회의…중·러 반대로 공동대응 무산") == {"meeting"}
    launch = _happening("North Korea fires ICBM on lofted trajectory", "an intercontinental ballistic missile")
    assert happenings_differ(launch, _happening('러 외무차관 "北 ICBM 발사는 美 군사적 압박 탓"'))
    assert happenings_differ(_happening('크렘린 "푸틴, 24∼25일 北 국빈방문"…4년 만'),
                             _happening("Russian President Putin Arrives in Pyongyang"))
    # Two parties' words are two events; one party's in two languages are one.
    assert happenings_differ(_happening("UN Security Council meets on North Korea's ICBM launch"),
                             _happening('러 외무차관 "北 ICBM 발사는 美 군사적 압박 탓"'))
    assert not happenings_differ(_happening("UN Security Council meets on North Korea's ICBM launch"),
                                 _happening("안보리, 北 ICBM 발사 관련 긴급회의"))
    # What the party's own people do is their event: a minister's arrival is an arrival, not a reaction; the
    # Kremlin as a place is no subject.
    assert not happenings_differ(_happening("Глава МИД КНДР прибыла в Москву"),
                                 _happening("North Korea's Choe Son Hui arrives in Moscow"))
    assert party("Путин принял в Кремле главу МИД КНДР") is None
    # A speaker's words after a colon are not the event a reaction answers; "blames" is a statement.
    assert not happenings_differ(_happening('러 외무차관 "北 ICBM 발사는 美 군사적 압박 탓"'),
                                 _happening("Руденко: пуск МБР в КНДР стал ответом на военное давление США"))
    assert kinds("Russia blames U.S. pressure after North Korea's ICBM launch") == {"statement"}

