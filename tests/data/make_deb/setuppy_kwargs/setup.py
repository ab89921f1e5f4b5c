import os

from setuptools import setup

here = os.path.abspath(os.path.dirname(__file__))
with open(os.path.join(here, "README.rst"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="Hello_Kwargs",
    version="1.2.0rc1",
    description="Say hello from a setup.py project configured with keyword arguments.",
    long_description=long_description,
    long_description_content_type="text/x-rst",
    author="Ada Lovelace",
    author_email="ada@example.org",
    url="https://example.org/hello-kwargs",
    license="MIT",
    classifiers=["License :: OSI Approved :: MIT License", "Programming Language :: Python :: 3"],
    packages=["hello_kwargs"],
    python_requires=">=3.9",
    install_requires=[],
    entry_points={"console_scripts": ["hello-kwargs = hello_kwargs.cli:main"]},
)
