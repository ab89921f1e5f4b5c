from setuptools import setup

setup(
    name="audit-demo",
    version="1.0",
    description="a service that renders with jinja2 3.1.2, which CVE-2024-22195 affects",
    packages=["audit_demo"],
    install_requires=["jinja2==3.1.2"],
    entry_points={"console_scripts": ["audit-demo = audit_demo:main"]},
)
