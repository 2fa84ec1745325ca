"""classp.lab.checkpoints: damaged, empty and foreign checkpoint files are named, never unpickled with code."""
from __future__ import annotations

import pytest
import torch

from classp.lab.checkpoints import read_checkpoint, write_checkpoint


class Evil:  # a pickled object of this class would run code if loaded with weights_only=False
    def __reduce__(self):
        return (print, ("ran code from the checkpoint",))


def _good(path):
    write_checkpoint(path, {"fingerprint": {}, "x": torch.arange(1000.0)})
    return path.read_bytes()


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "empty, truncated or damaged"),
    (lambda p: p.write_bytes(_good(p)[:300]), "empty, truncated or damaged"),
    (lambda p: p.write_bytes(b"not a checkpoint at all"), "a safe load refuses it"),
    (lambda p: torch.save({"format": "classp-checkpoint/1", "x": Evil()}, p), "a safe load refuses it"),
])
def test_unreadable_checkpoints_are_named_without_torch_advice(tmp_path, make, reason, capsys):
    path = tmp_path / "run.pt"
    make(path)
    with pytest.raises(ValueError) as e:
        read_checkpoint(path, {})
    msg = str(e.value)
    assert msg.startswith(f"{path}: not a readable classp checkpoint (") and reason in msg
    assert "delete it to start the run afresh" in msg
    assert "weights_only" not in msg and "\n" not in msg
    assert "ran code" not in capsys.readouterr().out


def test_a_good_checkpoint_still_reads(tmp_path):
    _good(tmp_path / "ok.pt")
    assert torch.equal(read_checkpoint(tmp_path / "ok.pt", {})["x"], torch.arange(1000.0))


def test_a_missing_checkpoint_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "nope.pt", {})
