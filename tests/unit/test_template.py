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


def test_personalized_values_cannot_smuggle_a_link_a_stop_or_control_characters() -> None:
    from tambour.rules.template import control_character, usable_value

    template = parse_template("Bonjour {first_name|client}, -20% chez nous")
    assert template.render(template.usable({"first_name": "Camille"})) == (
        "Bonjour Camille, -20% chez nous"
    )
    for smuggled in (
        "STOP au 38888", "Camille stop", "https://promo.example/x", "www.arnaque.fr", "bit.ly/x",
        "Cam\x00ille", "Cam\u2028ille", "Camille\r\nSTOP",
    ):  # fmt: skip
        assert not usable_value(smuggled), smuggled
        assert template.render(template.usable({"first_name": smuggled})) == (
            "Bonjour client, -20% chez nous"
        )
    for fine in ("Jean-Pierre", "Zoé", "Christophe", "Stéphanie", "M. O'Neil", "non-stop"):
        assert usable_value(fine), fine
    assert template.missing(template.usable({"first_name": "x.fr"})) == ()
    assert control_character("ligne 1\nligne 2", allowed="\n") is None
    assert control_character("a\x00b") == "a control character (U+0000) at character 2"
