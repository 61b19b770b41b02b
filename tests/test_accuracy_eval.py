"""benchbed accuracy on a tiny synthetic folder whose expected top-1/top-5 are known by construction.

The images are random; the folder is built from the model's own ranking of each image: some images go
to their top-1 class, some to their 3rd-ranked class (a top-5 hit only), some to their 100th (a miss).
"""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from benchbed.accuracy.evaluate import CSV_HEADER, append_csv, evaluate, topk_hits
from benchbed.accuracy.folder import index_folder, read_class_map
from benchbed.accuracy.transform import EvalTransform, MEAN, STD, choose_transform, default_transform, resize_shorter
from benchbed.networks import build_model, network_spec, read_state_dict
from benchbed.core.errors import BenchbedError
from conftest import TINY, TINY_ARGS, run_cli

SIZES = [(48, 40), (40, 56), (37, 37), (64, 33), (45, 50), (36, 80), (50, 50), (41, 39), (60, 44), (38, 47),
         (52, 36), (44, 44), (70, 40), (40, 40)]
PLAN = ["top1"] * 5 + ["top5"] * 3 + ["miss"] * 4  # 12 images: top-1 41.667 %, top-5 66.667 %


def wnid(index: int) -> str:
    return f"n{index:08d}"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """weights file, class map, val folder and the expected hits."""
    root = tmp_path_factory.mktemp("acc")
    spec = network_spec(0, **TINY)
    model = build_model(0, **TINY)
    weights = root / "tiny_random.pt"
    torch.save(model.state_dict(), weights)
    (root / "classes.txt").write_text("".join(f"{wnid(i)} class {i}\n" for i in range(1000)))
    transform = default_transform(spec)
    rng = np.random.default_rng(7)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in SIZES]
    with torch.no_grad():
        logits = model(torch.from_numpy(np.stack([transform(im) for im in images]))).numpy()
    order = np.argsort(-logits, axis=1)
    sorted_logits = -np.sort(-logits, axis=1)
    # only images whose top-1 is not a near tie, so batch size or engine cannot flip the expected answer
    clear = [i for i in range(len(images)) if sorted_logits[i, 0] - sorted_logits[i, 1] > 1e-3
             and sorted_logits[i, 4] - sorted_logits[i, 5] > 1e-3]
    assert len(clear) >= len(PLAN)
    val = root / "val"
    for n, (i, kind) in enumerate(zip(clear, PLAN)):
        label = order[i, {"top1": 0, "top5": 2, "miss": 100}[kind]]
        (val / wnid(label)).mkdir(parents=True, exist_ok=True)
        images[i].save(val / wnid(label) / f"img{n:02d}.png")
    (val / wnid(order[clear[0], 0]) / "notes.txt").write_text("not an image: skipped")
    return {"root": root, "spec": spec, "weights": weights, "val": val, "class_map": root / "classes.txt",
            "top1": 5, "top5": 8, "images": 12, "model": model}


# --- the transform, against hand-computed pixels -------------------------------------------------------
def test_transform_solid_colour_is_normalized_chw():
    out = EvalTransform(32, 40, "bicubic")(Image.new("RGB", (100, 50), (255, 0, 128)))
    assert out.shape == (3, 32, 32) and out.dtype == np.float32
    expected = (np.array([255, 0, 128]) / 255.0 - MEAN) / STD
    np.testing.assert_allclose(out[:, 16, 16], expected, atol=1e-6)
    np.testing.assert_allclose(out.reshape(3, -1).std(axis=1), 0, atol=1e-6)


def test_transform_crop_offsets_match_torchvision_rounding():
    # 41x61, resize 41 leaves it untouched (shorter side already 41); crop 32: left round(4.5)=4, top round(14.5)=14
    x, y = np.meshgrid(np.arange(41), np.arange(61))
    pixels = np.stack([x, y, np.zeros_like(x)], axis=-1).astype(np.uint8)
    out = EvalTransform(32, 41, "bilinear")(Image.fromarray(pixels))
    np.testing.assert_allclose(out[0, 0, :], (np.arange(4, 36) / 255.0 - MEAN[0]) / STD[0], atol=1e-6)
    np.testing.assert_allclose(out[1, :, 0], (np.arange(14, 46) / 255.0 - MEAN[1]) / STD[1], atol=1e-6)


def test_resize_truncates_the_long_side_and_small_images_are_zero_padded():
    assert resize_shorter(Image.new("RGB", (100, 30)), 32, "bicubic").size == (106, 32)  # int(32*100/30)
    assert resize_shorter(Image.new("RGB", (30, 100)), 32, "bilinear").size == (32, 106)
    out = EvalTransform(32, 20, "bicubic")(Image.new("RGB", (30, 20), (255, 255, 255)))
    np.testing.assert_allclose(out[:, 0, 0], -MEAN / STD, atol=1e-6)  # padding rows are black
    np.testing.assert_allclose(out[:, 16, 16], (1 - MEAN) / STD, atol=1e-6)


def test_default_transforms_follow_torchvision_and_crop_pct():
    assert default_transform(network_spec(0)).describe() == "224/256/bicubic"
    assert default_transform(network_spec(1)).describe() == "240/255/bilinear"  # B1 DEFAULT = IMAGENET1K_V2
    # torchvision evaluates B2 at 288 px: that is the 288 px network's transform, not the 260 px B2's
    assert default_transform(network_spec(2)).describe() == "260/297/bicubic"
    assert default_transform(network_spec(2, resolution=288)).describe() == "288/288/bicubic"
    assert default_transform(network_spec(1, "compound")).describe() == "258/295/bicubic"
    assert default_transform(network_spec(0, **TINY)).describe() == "32/37/bicubic"
    assert choose_transform(network_spec(0, resolution=256), crop=256).describe() == "256/293/bicubic"
    with pytest.raises(BenchbedError, match="belongs to another network; add --resolution 256"):
        choose_transform(network_spec(0), crop=256)
    assert choose_transform(network_spec(0), interpolation="bilinear").describe() == "224/256/bilinear"
    with pytest.raises(BenchbedError, match="unknown interpolation"):
        choose_transform(network_spec(0), interpolation="lanczos3")


# --- folder and counting -------------------------------------------------------------------------------
def test_folder_classes_sorted_like_imagefolder_and_class_map(tmp_path):
    for name in ("zebra", "apple", "mango"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "a.JPEG", format="JPEG")
    assert index_folder(tmp_path, 1000).classes == {"apple": 0, "mango": 1, "zebra": 2}
    mapping = {"mango": 7, "zebra": 3, "apple": 999}
    assert index_folder(tmp_path, 1000, mapping).classes == mapping
    with pytest.raises(BenchbedError, match="3 class folders but the network has 2 classes"):
        index_folder(tmp_path, 2)
    with pytest.raises(BenchbedError, match="not in --class-map"):
        index_folder(tmp_path, 1000, {"apple": 0})
    with pytest.raises(BenchbedError, match="network has 999 classes"):
        index_folder(tmp_path, 999, mapping)
    (tmp_path / "map.txt").write_text("a\nb\na\n")
    with pytest.raises(BenchbedError, match="already on line 1"):
        read_class_map(tmp_path / "map.txt")


def test_topk_hits_counts_exactly():
    logits = np.array([[0, 5, 1, 2, 3, 4, 9], [9, 8, 7, 6, 5, 4, 3], [1, 2, 3, 4, 5, 6, 7]], dtype=np.float32)
    assert topk_hits(logits, np.array([6, 4, 0])) == (1, 2)


def test_checkpoint_wrappers_are_unwrapped(world, tmp_path):
    state = world["model"].state_dict()
    for wrapper in ("state_dict", "model"):
        path = tmp_path / f"{wrapper}.pt"
        torch.save({wrapper: state, "epoch": 3}, path)
        assert set(read_state_dict(str(path))) == set(state)


# --- measured accuracy is the one constructed ------------------------------------------------------------
def test_torch_engine_gives_the_constructed_accuracy(world):
    cmap = read_class_map(world["class_map"])
    result = evaluate(world["spec"], world["weights"], world["val"], class_map=cmap, batch_size=5)
    assert (result.top1_hits, result.top5_hits, result.images) == (5, 8, 12)
    assert result.row()["top1"] == "41.667" and result.row()["top5"] == "66.667" and result.engine == "torch"
    assert len(result.notes) == 1 and "skipped 1 non-image" in result.notes[0]
    limited = evaluate(world["spec"], world["weights"], world["val"], class_map=cmap, limit=4)
    assert limited.images == 4


def test_onnx_fp32_matches_torch_and_fp16_is_measured_on_its_own_artifact(world, tmp_path):
    cmap = read_class_map(world["class_map"])
    onnx = evaluate(world["spec"], world["weights"], world["val"], class_map=cmap, engine="onnx",
                    models_dir=tmp_path / "models")
    assert (onnx.top1_hits, onnx.top5_hits, onnx.engine) == (5, 8, "onnx")
    fp16 = evaluate(world["spec"], world["weights"], world["val"], class_map=cmap, precision="fp16",
                    models_dir=tmp_path / "models")
    assert fp16.precision == "fp16" and fp16.engine == "onnx" and fp16.images == 12
    assert (tmp_path / "models" / world["spec"].name / "fp16.onnx").is_file()
    manifest = json.loads((tmp_path / "models" / world["spec"].name / "fp32.manifest.json").read_text())
    assert manifest["details"]["weights"] == str(world["weights"])  # exported with the given weights
    with pytest.raises(BenchbedError, match="torch engine evaluates fp32 only"):
        evaluate(world["spec"], world["weights"], world["val"], precision="int8", engine="torch")


def test_cli_appends_rows_under_the_exact_header_and_prints_json(world, tmp_path):
    out = tmp_path / "acc.csv"
    args = ["accuracy", "--phi", "0", *TINY_ARGS, "--weights", str(world["weights"]), "--val-dir", str(world["val"]),
            "--class-map", str(world["class_map"]), "--out", str(out)]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "41.667" in first.stdout and "66.667" in first.stdout
    second = run_cli(*args, "--weights-tag", "mine", "--format", "json", "--batch-size", "3")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["top1"] == 41.667 and doc["top5"] == 66.667 and doc["images"] == 12 and doc["weights"] == "mine"
    lines = out.read_text().splitlines()
    assert lines[0] == "network,precision,weights,top1,top5,images,source" == ",".join(CSV_HEADER)
    rows = list(csv.DictReader(lines))
    assert [r["weights"] for r in rows] == ["tiny_random", "mine"]
    assert rows[0] == {"network": "efficientnet_b0@w0.25,d0.34,r32", "precision": "fp32", "weights": "tiny_random",
                       "top1": "41.667", "top5": "66.667", "images": "12",
                       "source": f"measured by benchbed accuracy on {world['val']} "
                                 "(12 images, transform 32/37/bicubic)"}


def test_append_refuses_a_foreign_csv(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(BenchbedError, match="refusing to append"):
        append_csv(other, {})


# --- bad input: one line, exit 2 ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_inputs(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    wrong = root / "wide.pt"
    torch.save(build_model(0, width=0.5, depth=0.34, resolution=32, calibrate=False).state_dict(), wrong)
    (root / "empty" / "n00000001").mkdir(parents=True)
    corrupt = root / "corrupt" / "n00000001"
    corrupt.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(corrupt / "ok.png")
    (corrupt / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (root / "text.pt").write_text("not weights")
    return root


@pytest.mark.parametrize("weights,val,needle", [
    ("wide.pt", None, "do not fit efficientnet_b0@w0.25,d0.34,r32"),
    ("text.pt", None, "cannot load weights"),
    ("missing.pt", None, "no such file"),
    (None, "empty", "no images"),
    (None, "corrupt", "broken.jpg"),
    (None, "nowhere", "not a folder"),
])
def test_bad_input_is_one_line_exit_2(world, bad_inputs, weights, val, needle):
    result = run_cli("accuracy", *TINY_ARGS, "--weights", str(bad_inputs / weights if weights else world["weights"]),
                     "--val-dir", str(bad_inputs / val if val else world["val"]))
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_user_text_written_to_csv_cannot_become_a_spreadsheet_formula(tmp_path):
    import csv

    from benchbed.accuracy.evaluate import append_csv

    path = append_csv(tmp_path / "acc.csv", {"network": "efficientnet_b0", "precision": "fp32",
                                             "weights": "=cmd|' /C calc'!A0", "top1": 77.1, "top5": 93.3,
                                             "images": 10, "source": "@SUM(1+1)"})
    row = next(csv.DictReader(path.open()))
    assert row["weights"] == "'=cmd|' /C calc'!A0" and row["source"] == "'@SUM(1+1)"
    assert row["top1"] == "77.1"  # numbers untouched


# --- hostile inputs (#27 items 6, 7, 19-22, 34) --------------------------------------------------------------
def test_nan_weights_are_an_error_never_a_measured_row(world, tmp_path):
    """NaN logits sort as classes 0..4: once that was top-1 50 %, top-5 100 %, written to --out."""
    state = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() else v)
             for k, v in world["model"].state_dict().items()}
    weights = tmp_path / "nan.pt"
    torch.save(state, weights)
    out = tmp_path / "acc.csv"
    result = run_cli("accuracy", *TINY_ARGS, "--weights", str(weights), "--val-dir", str(world["val"]),
                     "--out", str(out))
    assert result.returncode == 2 and "NaN or infinite" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_folder_linked_into_itself_is_refused_and_a_second_link_to_an_image_counts_once(tmp_path):
    (tmp_path / "val" / wnid(1)).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "val" / wnid(1) / "a.png")
    (tmp_path / "val" / wnid(1) / "again.png").symlink_to(tmp_path / "val" / wnid(1) / "a.png")
    assert len(index_folder(tmp_path / "val", 1000).samples) == 1
    (tmp_path / "val" / wnid(1) / "loop").symlink_to(tmp_path / "val" / wnid(1))
    with pytest.raises(BenchbedError, match="already read"):
        index_folder(tmp_path / "val", 1000)


def test_hostile_image_folder_inputs_are_one_line_exit_2(world, tmp_path):
    import os

    from PIL import Image as PILImage

    bomb = tmp_path / "bomb" / wnid(1)
    bomb.mkdir(parents=True)
    PILImage.new("1", (20_000, 10_000)).save(bomb / "big.png")  # 200 Mpx, a few kB on disk
    fifo = tmp_path / "fifo" / wnid(1)
    fifo.mkdir(parents=True)
    os.mkfifo(fifo / "blocks.png")
    (tmp_path / "cmap-bytes.txt").write_bytes(b"n0000\xff\n")
    (tmp_path / "cmap-zero.txt").symlink_to("/dev/zero")
    cases = [(["--val-dir", str(tmp_path / "bomb")], "decompression bomb"),
             (["--val-dir", str(tmp_path / "fifo")], "FIFO"),
             (["--val-dir", str(world["val"]), "--class-map", str(tmp_path / "cmap-bytes.txt")], "not UTF-8"),
             (["--val-dir", str(world["val"]), "--class-map", str(tmp_path / "cmap-zero.txt")], "a device"),
             (["--val-dir", str(world["val"]), "--resize", "200000"], "1 to 4096 pixels")]
    for extra, needle in cases:
        result = run_cli("accuracy", *TINY_ARGS, "--weights", str(world["weights"]), *extra, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and needle in lines[0], (extra, result.stderr)
