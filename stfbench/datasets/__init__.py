"""Dataset readers (LRS2, LRW, synthetic layouts), dataset checks and face-crop preparation."""

from stfbench.datasets.layout import clip_path, find_list_file, layout_of, read_id_list, read_layout, read_pairs

__all__ = ["clip_path", "find_list_file", "layout_of", "read_id_list", "read_layout", "read_pairs"]
