"""Feature networks the metrics use: SyncNet (syncnet_python layout), Inception (pytorch-fid), landmarkers."""
