"""The Flask application: items stored with SQLAlchemy, validated with pydantic."""
import datetime

import attrs
import orjson
import structlog
import yaml
from dateutil import parser as dateparser
from flask import Flask, Response, render_template, request
from prometheus_client import Counter, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from tenacity import retry, stop_after_attempt

log = structlog.get_logger()
REQUESTS = Counter("web_service_requests", "requests served", ["endpoint"])


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    price: Mapped[float]


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    price: float = Field(ge=0)


@attrs.define
class Settings:
    database_url: str = "sqlite://"
    title: str = "web-service"
    started: datetime.datetime = attrs.field(factory=lambda: dateparser.parse("2026-01-01T00:00Z"))


def load_settings(text=None):
    return Settings(**(yaml.safe_load(text) or {})) if text else Settings()


def create_app(settings=None):
    settings = settings or load_settings()
    engine = create_engine(settings.database_url)
    Base.metadata.create_all(engine)
    app = Flask(__name__)

    @retry(stop=stop_after_attempt(3))
    def session():
        return Session(engine)

    @app.get("/")
    def index():
        REQUESTS.labels("index").inc()
        with session() as db:
            items = db.scalars(select(Item).order_by(Item.id)).all()
            return render_template("index.html", title=settings.title, items=items)

    @app.post("/items")
    def add_item():
        REQUESTS.labels("items").inc()
        item = ItemIn.model_validate(request.get_json(force=True))
        with session() as db:
            row = Item(name=item.name, price=item.price)
            db.add(row)
            db.commit()
            log.info("item added", id=row.id)
            return Response(orjson.dumps({"id": row.id, **item.model_dump()}),
                            mimetype="application/json", status=201)

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(), mimetype="text/plain")

    return app
