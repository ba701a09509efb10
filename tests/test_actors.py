"""The people a report names, whichever language and wire writes them."""

from newswatch.actors import Actors, actors_differ, named, sender


def test_a_person_is_found_in_english_korean_kcna_korean_and_russian_case_forms():
    assert named("N. Korea's Kim Jong-un meets Putin") == {"Kim Jong Un", "Vladimir Putin"}
    assert named("로씨야련방 대통령 브.브.뿌찐이 김정은동지께 축전을 보내여왔다") == {"Kim Jong Un", "Vladimir Putin"}
    assert named("푸틴 대통령과 김여정 부부장") == {"Vladimir Putin", "Kim Yo Jong"}
    assert named("Якушев направил Ким Чен Ыну письмо по поручению Путина") == {
        "Vladimir Yakushev", "Kim Jong Un", "Vladimir Putin"}
    assert named("Цой Сон Хи встретилась с Лавровым; Захаровой задали вопрос") == {
        "Choe Son Hui", "Sergey Lavrov", "Maria Zakharova"}


def test_a_name_inside_another_word_or_a_bare_surname_names_nobody():
    assert named("Путинцева выиграла турнир; Kimberly Lee and Mr. Kim spoke; 유리창이 깨졌다") == frozenset()


def _actors(headline: set[str], principal: set[str], everyone: set[str]) -> Actors:
    return Actors(frozenset(headline), frozenset(principal), frozenset(everyone))


def test_reports_differ_when_each_puts_forward_someone_the_other_never_names():
    putin = _actors(set(), {"Vladimir Putin", "Kim Jong Un"}, {"Vladimir Putin", "Kim Jong Un"})
    party = _actors(set(), {"Vladimir Yakushev", "Kim Jong Un"}, {"Vladimir Yakushev", "Kim Jong Un"})
    nobody = _actors(set(), set(), set())
    kim_only = _actors(set(), {"Kim Jong Un"}, {"Kim Jong Un"})
    assert actors_differ(putin, party) and actors_differ(party, putin)
    assert not actors_differ(putin, nobody)  # a flash that names nobody: no evidence either way
    assert not actors_differ(putin, kim_only)  # one wire names the sender, the other only Kim


def test_a_headline_that_has_someone_act_whom_the_other_report_never_names_is_another_event():
    lee = _actors({"Lee Jae-myung"}, {"Lee Jae-myung", "Donald Trump"},
                  {"Lee Jae-myung", "Donald Trump", "Kim Jong Un"})
    trump = _actors({"Donald Trump"}, {"Donald Trump", "Kim Jong Un"}, {"Donald Trump", "Kim Jong Un"})
    assert actors_differ(lee, trump) and actors_differ(trump, lee)
    # KCNA's "Kim Jong Un Oversees Test-fire…" and a JCS flash that never names him: one launch.
    kcna = _actors({"Kim Jong Un"}, {"Kim Jong Un"}, {"Kim Jong Un"})
    assert not actors_differ(kcna, _actors(set(), set(), set()))


def test_the_sender_of_a_greeting_is_the_person_its_headline_has_act():
    assert sender("Путин поздравил Ким Чен Ына с Днем основания КНДР") == "Vladimir Putin"
    assert sender("Ким Чен Ын поздравил Путина с Днем России") == "Kim Jong Un"
    assert sender("뿌찐대통령이 김정은동지께 축전을 보내여왔다") == "Vladimir Putin"
    assert sender("김정은동지께서 로씨야련방 대통령에게 축전을 보내시였다") == "Kim Jong Un"
    assert sender("Respected Comrade Kim Jong Un Sends New Year Card to Xi Jinping") == "Kim Jong Un"
    # A sender not in the table: unknown.
    assert sender("통일로씨야당 총리사회 비서가 김정은동지께 편지를 보내여왔다") is None


def test_a_title_names_whoever_held_it_on_the_day_of_the_report():
    assert named("Respected Comrade Kim Jong Un Receives Russian Defence Minister", "2023-07-26") == {
        "Kim Jong Un", "Sergei Shoigu"}
    assert named("DPRK Minister of National Defence Holds Talks with Russian Defence Minister", "2026-11-20") == {
        "No Kwang Chol", "Andrei Belousov"}
    assert named("러 국방장관, 中 둥쥔 국방부장과 모스크바서 회담", "2026-11-21") == {"Andrei Belousov", "Dong Jun"}
    assert named("최선희 北외무상, 모스크바 도착", "2026-04-20") == {"Choe Son Hui"}
    assert named("Белоусов провел переговоры с министром обороны КНДР Но Гван Чхолем") == {
        "Andrei Belousov", "No Kwang Chol"}
    # No one held it yet, or the day is before the table starts: nobody.
    assert named("Chinese Defence Minister visits Moscow", "2020-01-01") == frozenset()


def test_a_greeting_received_from_a_title_was_sent_by_its_holder():
    assert sender("Kim Jong Un Receives New Year Greeting Card from Russian President", "2027-01-01") == (
        "Vladimir Putin")
    assert sender("Ким Чен Ын получил поздравление от Путина") == "Vladimir Putin"
    assert sender("김정은, 푸틴으로부터 축전 받아") == "Vladimir Putin"
    assert sender("김정은동지께 로씨야련방 대통령이 답전을 보내여왔다", "2027-06-13") == "Vladimir Putin"
    assert sender("DPRK Foreign Minister Receives Congratulatory Message from Russian Counterpart") is None
