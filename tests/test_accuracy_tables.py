"""The shipped accuracy tables (recomputed against the networks benchbed builds), users' CSVs, and
which accuracy a cell is shown with."""

import pytest

from benchbed.accuracy.lookup import UNMEASURED_NOTE, AccuracyBook
from benchbed.accuracy.rows import AccuracyRow
from benchbed.accuracy.tables import published_rows, rows_for_source, sources
from benchbed.accuracy.user_csv import load_user_csv
from benchbed.networks import network_spec
from benchbed.core.errors import BenchbedError
import re


def test_every_row_names_a_known_source_and_the_paper_table_is_complete():
    assert {r.source for r in published_rows()} == set(sources()) == {"paper_v5", "torchvision", "timm"}
    paper = rows_for_source("paper_v5")
    assert [r.network for r in paper if r.network] == [f"efficientnet_b{i}" for i in range(8)]
    others = {r.model: r for r in paper if not r.network}
    assert len(others) == 16 and others["ResNet-50"].top1 == 76.0 and others["ResNet-50"].params_m == 26
    assert others["SENet"].top1 == 82.7 and others["SENet"].gflops == 42 and others["GPipe"].params_m == 557
    assert all(r.group for r in paper) and others["GPipe"].group == "efficientnet_b7"


@pytest.mark.parametrize("row", [r for r in published_rows() if r.network], ids=lambda r: r.weights + ":" + r.model)
def test_published_params_and_flops_are_those_of_the_network_benchbed_builds(row):
    """A row joins measured cost by network name: that network must have the row's params and FLOPS."""
    match = re.fullmatch(r"efficientnet_b(\d)(?:@r(\d+))?", row.network)
    phi, resolution = int(match[1]), int(match[2]) if match[2] else None
    spec = network_spec(phi, resolution=resolution)
    if row.crop:
        assert spec.resolution == row.crop
    if row.source == "paper_v5":  # two significant digits in the paper
        assert spec.params / 1e6 == pytest.approx(row.params_m, rel=0.06)
    else:
        assert spec.params / 1e6 == pytest.approx(row.params_m, abs=0.006)
    if row.source == "torchvision":  # torchvision's GFLOPS were counted at the eval crop
        assert spec.macs / 1e9 == pytest.approx(row.gflops, rel=0.003)


def test_lookup_is_precision_aware():
    book = AccuracyBook()
    fp32 = book.match("efficientnet_b0", "fp32")
    assert fp32.top1 == 77.1 and fp32.precision_measured and fp32.note is None and fp32.row.source == "paper_v5"
    int8 = book.match("efficientnet_b0", "int8")
    assert int8.top1 == 77.1 and not int8.precision_measured and int8.note == UNMEASURED_NOTE
    assert int8.label() == "77.1*"
    measured = AccuracyRow("b0 int8", "efficientnet_b0", "mine", "int8", 71.5, 90.0, "lab", measured=True)
    own = AccuracyBook([measured]).match("efficientnet_b0", "int8")
    assert own.top1 == 71.5 and own.precision_measured and own.label() == "71.5"
    assert book.match("compound_phi1_a1.2_b1.1_g1.15", "fp32") is None  # no published accuracy
    # a network at the torchvision eval size has torchvision's row; the paper has none at 288 px
    b2 = book.match("efficientnet_b2@r288", "fp32")
    assert b2.row.source in ("torchvision", "timm") and b2.top1 > 80
    tv = AccuracyBook(source="torchvision").match("efficientnet_b1", "fp32")
    assert tv.row.source == "torchvision" and tv.top1 == 79.838  # the best of V1 / V2
    with pytest.raises(ValueError, match="unknown accuracy source"):
        AccuracyBook(source="imagenet-v2")


def test_user_csv_rows_join_and_bad_rows_are_refused(tmp_path):
    good = tmp_path / "acc.csv"
    good.write_text("network,precision,weights,top1,top5\nefficientnet_b0,int8,ptq,74.9,92.1\n"
                    "efficientnet_b0,fp16,mine,77.6,\n")
    rows = load_user_csv(good)
    assert [(r.precision, r.top1, r.top5, r.measured) for r in rows] == [("int8", 74.9, 92.1, True),
                                                                        ("fp16", 77.6, None, True)]
    cases = {
        "network,precision,top1\nb0,fp32,70\n": "missing column(s) weights, top5",
        "network,precision,weights,top1,top5\nb0,fp64,x,70,90\n": "line 2: precision 'fp64'",
        "network,precision,weights,top1,top5\nb0,fp32,x,seventy,90\n": "line 2: top1 'seventy' is not a number",
        "network,precision,weights,top1,top5\nb0,fp32,x,70,90\nb0,fp32,x,170,90\n": "line 3: top1 170",
        "network,precision,weights,top1,top5\nb0,fp32,x,80,70\n": "top5 70 is below top1 80",
        "network,precision,weights,top1,top5\n": "has no rows",
        "network,precision,weights,top1,top5\nb0,fp32,x,70,90,oops\n": "line 2: more fields than the header",
        "network,precision,weights,top1,top5,images\nb0,fp32,x,70,90,-3\n": "images '-3' is not a positive",
    }
    for text, needle in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(text)
        with pytest.raises(BenchbedError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            load_user_csv(path)
    with pytest.raises(BenchbedError, match="cannot read accuracy file"):
        load_user_csv(tmp_path / "missing.csv")
