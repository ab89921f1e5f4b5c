# A long-lived setup.py project: no pyproject.toml, and setup_requires, which pip turns into
# build requirements (setuptools' legacy backend reports them from get_requires_for_build_wheel).
from setuptools import setup

setup(
    name="oldstyle",
    version="3.1",
    description="a setup.py project with setup_requires",
    packages=["oldstyle"],
    setup_requires=["pytest-runner==6.0.1"],
    install_requires=["six==1.17.0"],
    entry_points={"console_scripts": ["oldstyle = oldstyle:main"]},
)
