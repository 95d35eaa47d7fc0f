"""diffsv: noise-robust speaker verification with a score-based diffusion enhancer (Diff-SV)."""

from setuptools import find_packages, setup

setup(
    name="diffsv",
    version="0.1.0",
    description="Diff-SV speaker verification toolkit: Kaldi-style recipes, faithful model, fast inference",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["diffsv", "diffsv.*"]),
    python_requires=">=3.10",
    # torch/torchaudio are left unpinned: users bring a matched pair (tools/install.sh pins one that works).
    install_requires=[
        "torch>=2.1",
        "torchaudio>=2.1",
        "kaldiio>=2.18",
        "numpy>=1.21",
        "scipy>=1.7",
        "soundfile>=0.12",
        "pyyaml>=5.4",
        "tqdm>=4.60",
        "matplotlib>=3.5",
        "tensorboard>=2.10",
        "onnx>=1.16",
        "onnxscript>=0.2",
        "onnxruntime>=1.18",
    ],
    entry_points={"console_scripts": ["diffsv=diffsv.cli:main"]},
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "ruff>=0.4"]},
)
