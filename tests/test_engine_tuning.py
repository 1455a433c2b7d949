"""The CPU description (read from /proc and /sys files) and the slice size chosen from it."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
from pathlib import Path

import pytest

from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.engine import tuning
from cnnviz.engine.cpu import Cpu, clock_ghz, parse_cpuinfo, physical_cores, read_caches

EPYC_CPUINFO = """processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 17
model name	: AMD EPYC
cpu MHz		: 2596.128
flags		: fpu sse2 avx fma avx2 avx512f avx512bw

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC
"""
XEON = Cpu(model="Intel(R) Xeon(R) Platinum 8481C CPU @ 2.30GHz", vendor="GenuineIntel",
           family=6, cores=2, ghz=2.3, flags=frozenset({"avx2", "fma", "avx512f"}),
           l2=2 << 20, l3=105 << 20)
EPYC = Cpu(model="AMD EPYC", vendor="AuthenticAMD", family=25, cores=2, ghz=2.596,
           flags=frozenset({"avx2", "fma", "avx512f"}), l2=1 << 20, l3=32 << 20)


def test_cpuinfo_is_read_from_the_first_processor():
    fields = parse_cpuinfo(EPYC_CPUINFO)
    assert fields["model name"] == "AMD EPYC"
    assert fields["cpu family"] == "25"
    assert "avx512f" in fields["flags"].split()
    assert clock_ghz(fields) == pytest.approx(2.596128)
    assert clock_ghz({"model name": XEON.model, "cpu MHz": "3400.0"}) == 2.3  # nominal


def test_physical_limit_follows_the_vector_units():
    # the figure for a 2-core 2.3 GHz AVX-512 Xeon: 2 x 64 x 2.3 = 294 GFLOP/s
    assert XEON.vector_bits == 512
    assert XEON.flop_per_cycle == 16 * 2 * 2
    assert XEON.peak_flops == pytest.approx(294.4e9)
    # Zen 4 runs AVX-512 on 256-bit units: half of it per cycle
    assert EPYC.vector_bits == 256
    assert EPYC.flop_per_cycle == 32
    assert EPYC.peak_flops == pytest.approx(2 * 32 * 2.596e9)
    assert "AVX-512" in EPYC.describe() and "166 GFLOP/s" in EPYC.describe()
    no_fma = Cpu(cores=4, ghz=3.0, flags=frozenset({"avx"}))
    assert no_fma.flop_per_cycle == 16 and Cpu().peak_flops == 0


def _sysfs(root, caches, cores):
    for i, (level, kind, size) in enumerate(caches):
        d = root / "cpu0" / "cache" / f"index{i}"
        d.mkdir(parents=True)
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    for n, (package, core) in enumerate(cores):
        d = root / f"cpu{n}" / "topology"
        d.mkdir(parents=True, exist_ok=True)
        (d / "physical_package_id").write_text(f"{package}\n")
        (d / "core_id").write_text(f"{core}\n")


def test_caches_and_cores_from_sysfs(tmp_path):
    _sysfs(tmp_path, [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
                      (3, "Unified", "32768K")], [(0, 0), (0, 0), (0, 1), (1, 0)])
    assert read_caches(tmp_path) == {"l1d": 32 << 10, "l2": 1 << 20, "l3": 32 << 20}
    # cpu0 and cpu1 are SMT siblings of one core; cpu3 is on another package
    assert physical_cores({0, 1, 2, 3}, tmp_path) == 3
    assert physical_cores({0, 1}, tmp_path) == 1
    assert read_caches(tmp_path / "missing") == {"l1d": 0, "l2": 0, "l3": 0}


def test_the_slice_is_the_largest_power_of_two_that_fits_the_caches():
    image = tuning.activation_bytes(get_preset("keras-cifar10").spec)
    assert 300_000 < image < 350_000  # ~326 KB per image by core.memory's estimate
    # 34 MiB of L3 + L2 / (2 x 326 KB) = 54 images -> 32; the same answer every time
    assert [tuning.slice_images(EPYC, image) for _ in range(3)] == [32, 32, 32]
    # 109 MiB -> 175 -> 128
    assert tuning.slice_images(XEON, image) == 128
    small = Cpu(cores=4, l2=256 << 10, l3=6 << 20)  # 7 MiB: 11 images -> 16 at least
    assert tuning.slice_images(small, image) == 16
    assert tuning.slice_images(Cpu(), image) == tuning.slice_images(
        Cpu(l3=tuning.DEFAULT_CACHE), image)  # unknown caches: the default's answer


@pytest.mark.parametrize("l3_mib", [1, 4, 8, 16, 32, 64, 128, 512])
def test_a_slice_never_overflows_the_caches_unless_at_the_smallest(l3_mib):
    cpu = Cpu(cores=2, l2=1 << 20, l3=l3_mib << 20)
    image = 326_000
    size = tuning.slice_images(cpu, image)
    assert tuning.MIN_SLICE <= size <= tuning.MAX_SLICE
    assert size == tuning.MIN_SLICE or 2 * size * image <= tuning.cache_budget(cpu)
    bigger = Cpu(cores=2, l2=1 << 20, l3=2 * l3_mib << 20)
    assert tuning.slice_images(bigger, image) >= size


def test_a_call_holds_whole_slices_within_its_bytes():
    image = tuning.activation_bytes(get_preset("keras-cifar10").spec)
    # keras-cifar10 keeps 128 images a call (83 MB with gradients), however it is sliced:
    # 4 slices of 32 on the EPYC, one of 128 on the Xeon (not one call of 4 slices)
    assert tuning.call_images(tuning.slice_images(EPYC, image), image) == 128
    assert tuning.call_images(tuning.slice_images(XEON, image), image) == 128
    assert tuning.call_images(64, image) == 128
    for slice_size in (16, 32, 64, 128, 256):
        images = tuning.call_images(slice_size, image)
        assert images % slice_size == 0
        assert images // slice_size <= tuning.DISPATCH_SLICES
        assert images == slice_size or 2 * images * image <= tuning.CALL_BYTES
    # a small network: DISPATCH_SLICES slices; a huge one: still one slice a call
    assert tuning.call_images(32, 1_000) == 32 * tuning.DISPATCH_SLICES
    assert tuning.call_images(16, 10_000_000) == 16


def test_a_512_batch_is_computed_in_parts_of_one_slice_on_the_xeon(monkeypatch):
    from cnnviz.core.config import TrainConfig
    from cnnviz.engine import steps
    from cnnviz.engine.steps import batch_parts, config_optimizer, make_train_step

    spec = get_preset("keras-cifar10").spec
    monkeypatch.setattr(steps, "spec_slice_images",
                        lambda s, backend: tuning.slice_images(XEON, tuning.activation_bytes(s)))
    step = make_train_step(spec, config_optimizer(TrainConfig(), spec))
    assert not step.in_parts(128)
    assert step.in_parts(512)
    assert batch_parts(512, tuning.spec_call_images(spec, 128)) == [
        (0, 128), (128, 256), (256, 384), (384, 512)]


def test_only_the_cpu_slices_batches():
    spec = NetworkSpec((28, 28, 1), (Conv2D(8, 3), MaxPool2D(2), Flatten(), Dense(10)))
    assert tuning.spec_slice_images(spec, "gpu") is None
    assert tuning.spec_slice_images(spec, "cpu") in (16, 32, 64, 128, 256)


def test_the_benchmark_prints_the_cpu_and_the_engine_share_of_its_limit(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import train_speed

    # keras-cifar10's multiply-adds counted by hand: conv 30x30x32x27, 13x13x64x288,
    # 4x4x64x576, dense 1024x64 and 64x10; three passes, the first layer's input
    # gradient left out, 2 FLOPs each
    macs = [30 * 30 * 32 * 27, 13 * 13 * 64 * 288, 4 * 4 * 64 * 576, 1024 * 64, 64 * 10]
    assert train_speed.training_flops_per_image() == 2 * (3 * sum(macs) - macs[0])
    runs = [{"batch_size": 32, "peer": "cnnviz", "images_per_second": 2294.4,
             "load_average": 1.5}]
    lines = train_speed.limit_lines(XEON, runs, [32])
    assert lines[0].startswith("CPU: Intel(R) Xeon(R) Platinum 8481C")
    assert "AVX-512" in lines[0] and "294 GFLOP/s" in lines[0]
    assert "11,439 img/s" in lines[1]  # 294.4e9 / 25.74e6
    assert "B=32: cnnviz 2,294 img/s = 20% of the limit" in lines[2]
    gpu = train_speed.limit_lines(XEON, [{**runs[0], "device": "NVIDIA H100"}], [32])
    assert gpu == ["Device: NVIDIA H100 (host CPU Intel(R) Xeon(R) Platinum 8481C CPU @ "
                   "2.30GHz)."]
