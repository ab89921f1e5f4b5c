from setuptools import setup

setup(
    name="twins",
    version="2.0",
    description="two services from one source",
    packages=["twins"],
    install_requires=["click==8.1.7"],
    entry_points={"console_scripts": ["twins-hello = twins:main"]},
)
