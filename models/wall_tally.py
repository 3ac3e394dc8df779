"""The wall's running counts of open tickets per assignee (app/wall_tally.py
keeps them; database triggers change them with every ticket change)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class WallTally(SQLModel, table=True):
    __tablename__ = "wall_tally"

    assignee: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # staff.id; 0: unassigned
    open: int = 0
    complaints: int = 0
    escalations_waiting: int = 0  # without a senior reviewer
    refunds_to_decide: int = 0
    refunds_processing: int = 0
    extended: int = 0  # complaints whose resolution deadline was extended
