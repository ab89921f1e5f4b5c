import jinja2


def main():
    print(jinja2.Template("jinja2 {{ version }}").render(version=jinja2.__version__))
