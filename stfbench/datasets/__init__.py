"""Dataset readers (LRS2, LRW, synthetic layouts), dataset checks and face-crop preparation."""

from stfbench.datasets.check import ClipProblem, DatasetCheck, check_dataset
from stfbench.datasets.layout import clip_path, find_list_file, layout_of, read_id_list, read_layout, read_pairs
from stfbench.datasets.prepare import (
    ClipRecord,
    PreparedClip,
    PrepareReport,
    load_prepared,
    prepare_clip,
    prepare_protocol,
    prepared_dir,
)

__all__ = [
    "ClipProblem",
    "ClipRecord",
    "DatasetCheck",
    "PrepareReport",
    "PreparedClip",
    "check_dataset",
    "clip_path",
    "find_list_file",
    "layout_of",
    "load_prepared",
    "prepare_clip",
    "prepare_protocol",
    "prepared_dir",
    "read_id_list",
    "read_layout",
    "read_pairs",
]
