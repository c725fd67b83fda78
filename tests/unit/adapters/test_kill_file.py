"""The kill file: written atomically by `emp kill`, polled by running sessions."""

from __future__ import annotations

import pytest

from emp.adapters.kill_file import KillFile
from emp.adapters.kill_file.kill_file import KillFileError
from emp.ports.kill_signal import KillSignalPort


def test_no_file_means_no_request(tmp_path):
    signal = KillFile(tmp_path / "KILL")
    assert isinstance(signal, KillSignalPort)
    assert signal.poll() is None


def test_a_request_is_seen_with_its_reason_and_can_be_cleared(tmp_path):
    signal = KillFile(tmp_path / "nested" / "KILL")
    signal.request("fat finger on desk 3", requested_ns=5)
    assert signal.poll() == "kill file: fat finger on desk 3"
    assert not list((tmp_path / "nested").glob("*.tmp"))
    assert signal.clear() is True
    assert signal.poll() is None
    assert signal.clear() is False


def test_a_file_written_by_hand_still_stops_trading(tmp_path):
    (tmp_path / "KILL").write_text("stop!\n")
    assert "present" in (KillFile(tmp_path / "KILL").poll() or "")


def test_a_request_without_a_reason_is_refused(tmp_path):
    with pytest.raises(KillFileError, match="reason"):
        KillFile(tmp_path / "KILL").request("  ", requested_ns=1)


def test_an_unwritable_location_is_a_named_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(KillFileError, match="cannot write kill file"):
        KillFile(tmp_path / "file" / "KILL").request("x", requested_ns=1)
