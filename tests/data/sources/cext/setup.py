from setuptools import Extension, setup

setup(
    name="cext-demo",
    version="1.0",
    description="a project with a C extension of its own, built with debug information",
    packages=["cext_demo"],
    ext_modules=[Extension("cext_demo._speed", ["cext_demo/_speed.c"])],
    install_requires=["charset-normalizer==3.4.1"],
)
