"""Configuration: environment beats the data folder's config.toml, which beats the defaults."""
from __future__ import annotations

import pytest

from kiosk.config import ConfigError, load_config


def test_defaults(tmp_path):
    cfg = load_config(environ={"KIOSK_DATA_DIR": str(tmp_path)})
    assert cfg["PORT"] == 5000 and cfg["KIOSK_HOST"] == "0.0.0.0"
    assert cfg["KIOSK_PRINTER"] == "preview" and cfg["KIOSK_PAPER_DOTS"] == 576
    assert cfg["KIOSK_TLS"] is False
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'kiosk.sqlite3'}"


def test_file_in_data_folder_then_environment(tmp_path):
    (tmp_path / "config.toml").write_text('PORT = 8080\nKIOSK_PAPER_DOTS = 384\nKIOSK_TLS = true\n')
    cfg = load_config(environ={"KIOSK_DATA_DIR": str(tmp_path)})
    assert cfg["PORT"] == 8080 and cfg["KIOSK_PAPER_DOTS"] == 384 and cfg["KIOSK_TLS"] is True
    cfg = load_config(environ={"KIOSK_DATA_DIR": str(tmp_path), "PORT": "9000", "KIOSK_TLS": "0"})
    assert cfg["PORT"] == 9000 and cfg["KIOSK_TLS"] is False and cfg["KIOSK_PAPER_DOTS"] == 384


def test_bad_values_get_vietnamese_errors(tmp_path):
    with pytest.raises(ConfigError, match="số nguyên"):
        load_config(environ={"KIOSK_DATA_DIR": str(tmp_path), "PORT": "năm nghìn"})
    with pytest.raises(ConfigError, match="chia hết cho 8"):
        load_config(environ={"KIOSK_DATA_DIR": str(tmp_path), "KIOSK_PAPER_DOTS": "500"})
    (tmp_path / "config.toml").write_text("PORT = = 1")
    with pytest.raises(ConfigError, match="bị lỗi"):
        load_config(environ={"KIOSK_DATA_DIR": str(tmp_path)})
