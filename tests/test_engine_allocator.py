"""The engine keeps freed memory for reuse instead of faulting it in anew each step."""

import ctypes
import ctypes.util
import resource
import sys

import pytest

import cnnviz.engine  # noqa: F401  (applies the allocator settings)
from cnnviz.engine.allocator import keep_freed_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

BLOCK = 64 << 20  # larger than glibc's largest automatic mmap threshold (32 MiB)
PAGE = resource.getpagesize()


def page_faults_of_a_block(libc) -> int:
    """Minor page faults taken to allocate, fill and free one BLOCK."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(BLOCK)
    assert block
    ctypes.memset(block, 1, BLOCK)
    libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_large_block_freed_and_allocated_again_reuses_its_pages():
    assert keep_freed_memory()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    page_faults_of_a_block(libc)  # the heap grows once
    # mmap'ed blocks would fault in all BLOCK / PAGE pages (16,384) every time
    assert page_faults_of_a_block(libc) < BLOCK // PAGE // 100
