"""Dataset readers (LRS2, LRW, synthetic layouts), dataset checks and face-crop preparation."""
