"""The wall's 30-day figures kept as they change: per UTC hour and figure,
how many tickets' facts fell in that hour (app/wall_daily.py keeps them;
database triggers change them with every ticket change)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class WallDaily(SQLModel, table=True):
    __tablename__ = "wall_daily"

    hour: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # UTC hours since the epoch
    figure: str = Field(primary_key=True, max_length=40)  # app.wall_daily's fact name
    n: int = 0
