"""The anchors a cross-language join needs below the unanchored bar: numbers, names across scripts, countries."""

from newswatch.anchors import Anchors, anchors_shared, countries, institutions, names, numbers, skeleton


def test_numbers_are_read_in_any_language_but_days_of_the_month_and_years():
    assert numbers("a 5,000-ton destroyer flew 350 km") == numbers("5천t급 구축함…약 350㎞ 비행") == {5000.0, 350.0}
    assert numbers("водоизмещением 5 тыс. тонн") == {5000.0}
    assert numbers("80th anniversary") == numbers("80주년") == numbers("80-летия") == {80.0}
    assert numbers("on March 12, 2026, 6 fishermen") == frozenset()


def test_one_name_in_three_scripts_has_one_skeleton():
    assert skeleton("Wonsan") == "wnsn"
    assert names("", "A port call at North Korea's Wonsan.", "en") & names("", "원산항에 입항했다", "ko") == {"wnsn"}
    assert names("Корабли зашли в порт Вонсан", "", "ru") & names("", "원산항에 입항했다", "ko") == {"wnsn"}
    # Russian writes Korean aspirates with "х": Нампхо is Nampho.
    assert names("", "верфи в Нампхо", "ru") & names("", "at the Nampho shipyard", "en") == {"nmp"}


def test_everyday_names_verbs_and_a_title_case_headline_give_no_anchor():
    assert names("", "SEOUL (Reuters) - North Korea said on Monday in Pyongyang", "en") == frozenset()
    # KCNA's English headlines capitalise every word: only acronyms count there.
    assert names("Kim Jong Un Receives Secretary of Security Council", "", "en") == frozenset()
    assert names("Kim Jong Un Watches ICBM Launch", "", "en") == {skeleton("ICBM")}
    # A Korean word ending as a verb does names nothing ("이어진다" would read as "Joint").
    assert names("", "훈련은 18일까지 이어진다", "ko") & names("", "the Joint Chiefs of Staff", "en") == frozenset()


def test_headlines_naming_two_countries_in_common_are_anchored():
    assert countries("중러 군용기 9대 카디즈 진입") == {"cn", "ru"}
    assert countries("Chinese, Russian warplanes enter South Korea's air defence zone") == {"cn", "ru", "kr"}
    assert countries("Россия и Китай начали учения в Японском море") == {"ru", "cn", "jp"}
    assert countries("北, 동해상으로 단거리탄도미사일 발사") == {"kp"}
    patrol = Anchors.of("중러 군용기 9대 카디즈 진입", "", "ko")
    assert anchors_shared(patrol, Anchors.of("Chinese, Russian warplanes enter South Korea's air defence zone", "", "en"))
    # One country in common is no anchor: every report of the beat names North Korea.
    launch = Anchors.of("North Korea fires missiles", "", "en")
    assert not anchors_shared(launch, Anchors.of("北, 미사일 발사", "", "ko"))


def test_translated_institutions_places_and_drills_are_anchors_across_scripts():
    duma = (Anchors.of("러 하원, 조약 비준", "러시아 하원(국가두마)이 20일 조약 비준안을 통과시켰다", "ko"),
            Anchors.of("Госдума ратифицировала договор с КНДР", "", "ru"),
            Anchors.of("Russia's lower house ratifies treaty", "Russia's State Duma on Tuesday ratified", "en"))
    assert all(d.institutions == {"State Duma"} for d in duma)
    assert anchors_shared(duma[0], duma[1]) and anchors_shared(duma[1], duma[2])
    assert institutions("군사분계선(MDL)을 넘어") == institutions("crossed the military demarcation line") \
        == institutions("пересекли военную демаркационную линию") == {"the inter-Korean border (MDL, DMZ)"}
    assert institutions("'을지 자유의 방패'(UFS)") == institutions("учений «Щит свободы»") == {"Freedom Shield"}
    # Russia's own Security Council (Medvedev's) is not the UN's, nor the Far East ("Дальний Восток") Vostok.
    assert institutions("deputy chairman of Russia's Security Council") == frozenset()
    assert institutions("Sergei Shoigu, secretary of the Security Council of the Russian Federation") == frozenset()
    assert institutions("Совета безопасности РФ на Дальнем Востоке") == frozenset()
    assert institutions("заседании Совбеза ООН") == institutions("안보리 회의") == {"UN Security Council"}

