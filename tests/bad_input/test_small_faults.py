"""The small ones of issue 24 (item 7): a column named twice, a tab-separated .csv, and
`python -m bakeoff.predict`."""

from __future__ import annotations

import pytest

from bakeoff.data.sources import FileSource
from bakeoff.errors import DataError
from tests.conftest import run_cli


def test_a_column_named_twice_is_an_error_naming_it(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("text,text,label\ngood film,great,pos\nbad film,poor,neg\n")
    source = FileSource(train=str(data), text_column="text", label_column="label")
    with pytest.raises(DataError, match=r"names the column 'text' twice in its header"):
        source.load()


def test_a_tab_separated_csv_gets_a_hint_to_name_it_tsv(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("text\tlabel\ngood film\tpos\nbad film\tneg\n")
    source = FileSource(train=str(data), text_column="text", label_column="label")
    with pytest.raises(DataError) as err:
        source.load()
    message = str(err.value)
    assert "data.source.text_column='text' is not a column" in message
    assert "tab-separated" in message and ".tsv" in message
    tsv = data.rename(tmp_path / "train.tsv")  # what the hint says: then it reads
    loaded = FileSource(train=str(tsv), text_column="text", label_column="label").load()
    assert loaded["train"].items == ["good film", "bad film"]


def test_python_m_bakeoff_predict_runs_the_predict_command(tmp_path):
    missing = tmp_path / "none.ckpt"
    result = run_cli("-m", "bakeoff.predict", f"ckpt_path={missing}", "input=x", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: ckpt_path: checkpoint not found: {missing}"
    )
