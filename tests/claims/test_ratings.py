"""The rating scale: the default, a replacement file, and clear refusals of a bad one."""

import pytest

from claims.workflow import RatingScale, RatingScaleError
from service import create_app


def test_a_toml_scale_replaces_the_default(make_app, tmp_path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text(
        '[[ratings]]\nkey = "correct"\nlabel = "Correct"\nvalue = 5\ncolor = "#00aa00"\n'
        '[[ratings]]\nkey = "wrong"\nlabel = "Wrong"\nvalue = 1\ncolor = "#aa0000"\n'
    )
    app = make_app(rating_scale=str(path))
    assert [r["key"] for r in app.test_client().get("/api/v1/ratings").get_json()] == ["correct", "wrong"]
    create_app({"data_dir": str(tmp_path)})  # put the default back for the labels of later tests


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read"),
        ('{"ratings": []}', "non-empty"),
        ('{"ratings": [{"key": "ok", "label": "OK", "value": 9, "color": "#000000"}]}', "1 to 5"),
        ('{"ratings": [{"key": "ok", "label": "OK", "value": 1, "color": "red"}]}', "color"),
        ('{"ratings": [{"key": "ok", "label": "OK", "value": 1, "color": "#zzzzzz"}]}', "color"),
        ('{"ratings": [{"key": "a b", "label": "OK", "value": 1}]}', "key"),
        ('[{"key": "x", "label": "X", "value": 1}, {"key": "x", "label": "Y", "value": 2}]', "unique"),
    ],
)
def test_a_bad_scale_file_is_refused_with_its_reason(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "scale.json"
    path.write_text(content)
    with pytest.raises(RatingScaleError, match=message):
        RatingScale.from_file(path)


def test_a_missing_scale_file_stops_the_start(tmp_path) -> None:
    with pytest.raises(RatingScaleError, match="FACTDESK_RATING_SCALE"):
        create_app({"data_dir": str(tmp_path), "rating_scale": str(tmp_path / "nope.json")})
