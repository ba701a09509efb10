"""The people a report names, whichever language and wire writes them."""

from newswatch.actors import Actors, actors_differ, named


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


def test_reports_differ_only_when_each_puts_forward_someone_the_other_never_names():
    putin = Actors(principal=frozenset({"Vladimir Putin", "Kim Jong Un"}),
                   named=frozenset({"Vladimir Putin", "Kim Jong Un"}))
    party = Actors(principal=frozenset({"Vladimir Yakushev", "Kim Jong Un"}),
                   named=frozenset({"Vladimir Yakushev", "Kim Jong Un"}))
    nobody = Actors(principal=frozenset(), named=frozenset())
    kim_only = Actors(principal=frozenset({"Kim Jong Un"}), named=frozenset({"Kim Jong Un"}))
    assert actors_differ(putin, party) and actors_differ(party, putin)
    assert not actors_differ(putin, nobody)  # a flash that names nobody: no evidence either way
    assert not actors_differ(putin, kim_only)  # one wire names the sender, the other only Kim
