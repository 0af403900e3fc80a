from pathlib import Path

from leaky_app.links.exports import ClickExporter


def test_segments_stay_open_until_close_which_releases_them(tmp_path: Path) -> None:
    exporter = ClickExporter(tmp_path / "exports", max_open=5)
    exporter.append("abc")
    assert exporter.open_segments() == 0  # off by default
    exporter.clicks_per_segment = 2
    for _ in range(20):
        exporter.append("abc")
    assert exporter.open_segments() == 5  # the cap holds
    assert len(list((tmp_path / "exports").iterdir())) == 5
    exporter.close()
    assert exporter.open_segments() == 0
    assert list((tmp_path / "exports").iterdir()) == []
