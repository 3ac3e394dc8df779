"""When pydantic builds the models' validators: on first use, not as they are defined.

Every model in this package is a table: SQLModel validates none of them as
they are made, so the validator and serializer of each are built when first
used (a model_dump), not all of them as the models are defined, in every
process's start (~10 ms of the console's). models/__init__.py imports this
first: a model takes its config from SQLModel as it is defined.
"""

from __future__ import annotations

from sqlmodel import SQLModel

SQLModel.model_config["defer_build"] = True
