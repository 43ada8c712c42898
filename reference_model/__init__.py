"""SyncTalkFace reference implementation (imported as `stfbench.reference_model`)."""
