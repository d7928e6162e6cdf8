"""Reading a registry's YAML (``registry.yaml_loader``): plain data only, no alias bombs, no duplicate keys,
impossible dates reported with their key path and line (RELIABILITY.md, "Registry inputs")."""

from __future__ import annotations

from tests.registry_inputs import REGISTRY, errors_of, load_errors, registry_at


def test_an_impossible_unquoted_date_is_an_error_with_its_key_path_and_line(tmp_path):
    assert load_errors(registry_at(tmp_path, valid_until="2031-13-45")) == [
        "trademarks[0].valid_until: not a date: 2031-13-45 (line 9)"
    ]


def test_an_impossible_unquoted_timestamp_is_an_error_too(tmp_path):
    errors = load_errors(registry_at(tmp_path, valid_until="2031-02-30 10:00:00"))
    assert errors == ["trademarks[0].valid_until: not a date: 2031-02-30 10:00:00 (line 9)"]


def test_a_second_top_level_key_is_refused_with_both_line_numbers(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text += "products:\n  - {id: other, name: Other}\n"
    assert load_errors(registry_at(tmp_path, text=text)) == [
        "products: duplicate key (lines 11 and 16); YAML would keep only the last"
    ]


def test_a_second_mark_inside_a_trademark_is_refused_with_its_key_path(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("    mark: LUMORA\n", "    mark: LUMORA\n    mark: LUMORRA\n")
    assert load_errors(registry_at(tmp_path, text=text)) == [
        "trademarks[0].mark: duplicate key (lines 4 and 5); YAML would keep only the last"
    ]


def test_duplicate_keys_in_flow_mappings_and_deep_lists_are_refused(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("rights_holder: {name: Lumora", "rights_holder: {name: X, name: Lumora")
    errors = load_errors(registry_at(tmp_path, text=text))
    assert errors == ["rights_holder.name: duplicate key (lines 1 and 1); YAML would keep only the last"]


def test_a_merge_key_is_not_a_duplicate(tmp_path):
    text = REGISTRY.format(image="images/jacket.png", logo="images/logo.png", valid_until="2099-03-13")
    text = text.replace("rights_holder: {name: Lumora Outdoor, contact_email: ip@lumora.example}",
                        "base: &holder {name: Lumora, contact_email: ip@lumora.example}\n"
                        "rights_holder: {<<: *holder, name: Lumora Outdoor}")
    errors = load_errors(registry_at(tmp_path, text=text))
    assert errors == ["base: unknown key"]  # the anchor's holder key; no duplicate reported for the merge


def test_python_object_tags_are_refused(tmp_path):
    text = "rights_holder: !!python/object/apply:os.system ['echo pwned']\ntrademarks: []\n"
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1 and "unsafe or unknown YAML tag" in errors[0]


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    errors = errors_of(tmp_path, "\n".join(lines) + "\n")
    assert len(errors) == 1 and "alias" in errors[0]


def test_not_yaml_is_a_clear_error(tmp_path):
    errors = errors_of(tmp_path, "rights_holder: [unclosed\n")
    assert errors[0].startswith("invalid YAML")
