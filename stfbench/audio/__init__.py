"""Audio features: the Wav2Lip/SyncTalkFace mel spectrogram and syncnet_python MFCC."""
