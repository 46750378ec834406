from tambour.rules.template import field_key, parse_template


def test_placeholders_with_and_without_defaults() -> None:
    t = parse_template("Bonjour {first_name|Client}, à {Ville} !")
    assert [(p.name, p.key, p.default) for p in t.placeholders] == [
        ("first_name", "first_name", "Client"),
        ("Ville", "ville", None),
    ]
    assert t.render({"first_name": "Léa", "ville": "Metz"}) == "Bonjour Léa, à Metz !"
    assert t.render({"ville": "Metz"}) == "Bonjour Client, à Metz !"
    assert t.missing({"first_name": "Léa"}) == ("Ville",)
    assert t.missing({"ville": ""}) == ("Ville",)  # an empty cell is no value


def test_empty_default_is_a_default() -> None:
    t = parse_template("Bonjour {first_name|}!")
    assert t.missing({}) == ()
    assert t.render({}) == "Bonjour !"


def test_keys_fold_case_accents_spaces() -> None:
    assert field_key("Prénom client") == "prenom_client"
    t = parse_template("{Prénom Client}")
    assert t.render({"prenom_client": "Zoé"}) == "Zoé"


def test_literal_braces_and_errors() -> None:
    t = parse_template("{{code}} {x} }")
    assert t.render({"x": "1"}) == "{code} 1 }"
    assert [e.index for e in t.errors] == [len("{{code}} {x} ")]
    assert parse_template("a {b").errors[0].message == "unmatched '{'"
    assert parse_template("plain").errors == ()
