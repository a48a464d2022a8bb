"""Config text is untrusted: no label, name or params value becomes markup in any HTML page
the workflow writes (the Snakemake report and the pages embedded in it), and figures draw
labels as plain text.

One hostile study is run with the real snakemake command and its report is built once;
the end-to-end tests read those files. Unit tests check the same defences one by one.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import pickle
import re
from html.parser import HTMLParser

import pytest
import yaml

from simstudy.report import ScriptSafeDict, config_html, script_safe_params

from conftest import DEFAULT_FIGURES as FIGURE_NAMES
from conftest import ONE_WORKER, REPO, TINY_CONFIG, run_once, snakemake
from test_plots import drawn_figures, drawn_texts

HELPERS_ENV = {"PYTHONPATH": str(REPO / "tests")}  # jobs import tests/always_fails.py
#: In every hostile string: wherever it lands as markup (a tag, an attribute, a script),
#: the tests find it.
MARK = "xss"


def closes_script(tag: str) -> str:
    """Text that ends an inline <script> element and runs a handler of its own."""
    return f"</script><img src=x onerror=alert('{MARK}-{tag}')>"


def raw_rst(tag: str) -> str:
    """Text that, pasted into an RST caption, is a directive inserting raw HTML."""
    return f"\n\n.. raw:: html\n\n   <script>alert('{MARK}-{tag}')</script>\n\n"


def inline_rst(tag: str) -> str:
    """RST markup that fits on one line: a reference, a substitution, a role.

    A study's text may hold no newline (the config check refuses control characters),
    so the multi-line directive of :func:`raw_rst` can reach a caption only in the unit
    tests below, which bypass the check.
    """
    return f" `{MARK}-{tag}`_ |{MARK}-{tag}| :raw:`<b>{MARK}-{tag}</b>`"


#: Labels that matplotlib would read as mathtext: the first cannot be rendered at all.
MATH_LABEL = r"$\foo$"
SCENARIO_LABEL = f"a $x$ b & {closes_script('scenario')}{inline_rst('scenario-rst')}"
METHOD_LABEL = f"GMM <i>&amp;</i> {closes_script('method')}{inline_rst('method-rst')}"
PARAM_VALUE = f"<!--<script>{closes_script('param')}{inline_rst('param-rst')}"


def hostile_config() -> dict:
    """A tiny study whose labels, names and a params value are all hostile text.

    Names may only hold letters, digits, ``_``, ``-`` and ``.``; a trailing ``_`` makes
    an RST reference, so both compared methods' and the scenario's names end in one.
    """
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=3, chunk_size=3, on_error="record")
    scenario = config["scenarios"].pop("aniso")
    config["scenarios"]["blobs_"] = {**scenario, "label": SCENARIO_LABEL}
    gmm, kmeans = config["methods"].pop("gmm"), config["methods"].pop("kmeans")
    config["methods"] = {
        "gmm_": {**gmm, "label": METHOD_LABEL},
        "kmeans_": {**kmeans, "label": MATH_LABEL},
        "broken": {
            "estimator": "always_fails.AlwaysFails",
            "params": {"message": PARAM_VALUE},
            "label": f"<!--<script> {closes_script('broken')}",
        },
    }
    config["comparison"] = ["gmm_", "kmeans_"]
    return config


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    def build(workdir):
        snakemake(workdir, "--cores", "2", *ONE_WORKER, config=hostile_config(), env=HELPERS_ENV)
        snakemake(
            workdir, "--report", "results/report.html", config=hostile_config(), env=HELPERS_ENV
        )

    return run_once(tmp_path_factory, "hostile", build)


class Markup(HTMLParser):
    """What a browser makes of an HTML text: its tags, its scripts and its text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._script: tuple[dict, list[str]] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data):
        (self._script[1] if self._script is not None else self.text).append(data)

    def handle_comment(self, data):
        self.tags.append(("!--", {"comment": data}))


def assert_no_hostile_tags(markup: Markup, where: str) -> None:
    for tag, attrs in markup.tags:
        assert MARK not in f"{tag} {attrs}", f"{where}: config text became markup: <{tag} {attrs}>"


def assert_plain_page(text: str, where: str) -> Markup:
    """An HTML page or fragment made of text and harmless tags only, no script at all."""
    markup = Markup(text)
    assert_no_hostile_tags(markup, where)
    assert not markup.scripts, f"{where}: has a script"
    for tag, attrs in markup.tags:
        assert tag in {
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "div",
            "h1",
            "h2",
            "p",
            "strong",
            "em",
            "tt",
            "a",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "pre",
        }, (where, tag)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, attrs)
            assert "javascript:" not in (value or "") or tag == "a", (where, tag, attrs)
    return markup


def report_markup(workdir) -> Markup:
    return Markup((workdir / "results/report.html").read_text(encoding="utf-8"))


def report_data(markup: Markup) -> dict:
    """Each data script of the report (``var name = <JSON>;``), decoded."""
    data = {}
    for attrs, content in markup.scripts:
        if "id" in attrs:
            found = re.fullmatch(r"\s*var (\w+) = (.*);\s*", content, flags=re.DOTALL)
            assert found, f"script {attrs['id']} is not one JSON value: {content[:300]!r}"
            data[found.group(1)] = json.loads(found.group(2))
    return data


@pytest.mark.e2e
def test_the_report_holds_no_markup_from_the_config(hostile_run):
    markup = report_markup(hostile_run)
    assert_no_hostile_tags(markup, "report.html")
    for attrs, content in markup.scripts:
        if MARK in content:  # only as data: a JSON string that cannot end the element
            assert "id" in attrs, f"config text runs as a script: {content[:300]!r}"
            assert "<!--" not in content and "<script" not in content.lower(), attrs["id"]
    # the hostile text did reach the report: in the params Snakemake shows for each result
    data = report_data(markup)
    params = " ".join(r["job_properties"]["params"] for r in data["results"].values())
    for tag in ("method", "scenario", "param"):
        assert f"{MARK}-{tag}" in params, tag


@pytest.mark.e2e
def test_captions_show_config_values_as_text(hostile_run):
    data = report_data(report_markup(hostile_run))
    captions = {r["name"]: r["caption"] for r in data["results"].values()}
    captions["workflow description"] = data["workflow_desc"]
    for name, caption in captions.items():
        markup = assert_plain_page(caption, name)
        assert "system-message" not in caption and "problematic" not in caption, name
        captions[name] = " ".join("".join(markup.text).split())
    assert "Does gmm_ beat kmeans_, trial by trial?" in captions["ari_difference.png"]
    assert "Where does gmm_ win?" in captions["difference_by_scenario.png"]
    assert "of scenario blobs_:" in captions["example_data.png"]
    assert "(blobs_), with the methods gmm_, kmeans_, broken" in captions["workflow description"]
    assert "The comparison of interest is gmm_ − kmeans_." in captions["workflow description"]


@pytest.mark.e2e
def test_pages_show_config_values_as_text(hostile_run):
    report = (hostile_run / "results/report.html").read_text(encoding="utf-8")
    embedded = [
        base64.b64decode(page).decode()
        for page in re.findall(r"data:text/html;[^,]*base64,([A-Za-z0-9+/=]+)", report)
    ]
    written = [
        (hostile_run / "results/report" / n).read_text() for n in ("summary.html", "config.html")
    ]
    assert sorted(embedded) == sorted(written), "the report embeds the pages as written"
    for page in written:
        assert_plain_page(page, page[:200])
    summary, config = written
    assert "gmm_ - kmeans_" in html.unescape(summary)
    (shown,) = re.findall(r"<pre>(.*)</pre>", config, flags=re.DOTALL)
    resolved = yaml.safe_load(html.unescape(shown))
    assert resolved["methods"]["broken"]["params"]["message"] == PARAM_VALUE


@pytest.mark.e2e
@pytest.mark.filterwarnings("ignore:constrained_layout not applied")  # labels of 5 lines
def test_figures_draw_labels_as_plain_text(hostile_run, monkeypatch):
    for name in FIGURE_NAMES:
        assert (hostile_run / f"results/figures/{name}.png").stat().st_size > 0
    drawn = drawn_figures(monkeypatch, hostile_config(), hostile_run)
    texts = {name: "\n".join(drawn_texts(figure)) for name, figure in drawn.items()}
    for name in (
        "example_clusterings",
        "ari_difference",
        "difference_by_scenario",
        "paired_scatter",
    ):
        assert MATH_LABEL in texts[name] and METHOD_LABEL in texts[name], name
    for name in ("example_data", "example_clusterings", "difference_by_scenario"):
        assert SCENARIO_LABEL in texts[name], name


def test_params_text_cannot_form_a_tag_and_the_values_stay_as_they_are():
    config = hostile_config()
    safe = script_safe_params({"config": config, "code": "0123abcd"})
    assert isinstance(safe["config"], ScriptSafeDict) and safe["config"] == config
    for text in (repr(safe["config"]), str(safe["config"]), f"{safe['config']}"):
        assert not {"<", ">", "&"} & set(text)
        assert r"\x3c/script\x3e\x3cimg src=x onerror" in text
    # Snakemake pickles params for the rule script: it gets the very same values
    assert pickle.loads(pickle.dumps(safe["config"], protocol=4)) == config
    # a config without those characters gives the text of a plain dict: Snakemake's record
    # of earlier params still matches, so nothing reruns
    plain = copy.deepcopy(TINY_CONFIG)
    assert repr(script_safe_params({"config": plain})["config"]) == repr(plain)
    # different values, different text
    assert repr(ScriptSafeDict({"a": "<"})) != repr(ScriptSafeDict({"a": r"\x3c"}))


def test_params_that_cannot_be_made_safe_are_refused():
    with pytest.raises(ValueError, match="labels"):
        script_safe_params({"labels": ["</script>"]})
    assert script_safe_params({"n": 3, "names": ["a", "b"]}) == {"n": 3, "names": ["a", "b"]}


def render_caption(name: str, config: dict) -> str:
    """A caption of workflow/report as Snakemake renders it: Jinja, then RST to HTML."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    class Snakemake:
        pass

    Snakemake.config = config
    template = (REPO / "workflow/report" / name).read_text(encoding="utf-8")
    targets = "\n\n.. _Figures: #\n.. _Tables: #\n.. _Configuration: #\n"
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(template + targets)
    return publish_parts(
        text.render(snakemake=Snakemake),
        writer="html",
        settings_overrides={"report_level": 5},
    )["html_body"]


#: The config values each caption shows: the compared methods, the example scenario.
CAPTION_VALUES = {
    "ari_difference.rst": ("first", "second"),
    "config.rst": (),
    "difference_by_scenario.rst": ("first", "second"),
    "estimates.rst": (),
    "example_clusterings.rst": (),
    "example_data.rst": ("scenario",),
    "means_by_scenario.rst": (),
    "nested_loop.rst": (),
    "paired_scatter.rst": ("first", "second"),
    "performance.rst": ("second",),
    "score_vs_time.rst": (),
    "stopping.rst": (),
    "summary.rst": (),
    "value_difference.rst": ("first", "second"),
    "workflow.rst": ("first", "second", "scenario"),
    "zip.rst": (),
}


def test_every_caption_is_checked():
    assert set(CAPTION_VALUES) == {p.name for p in (REPO / "workflow/report").glob("*.rst")}


@pytest.mark.parametrize("caption", sorted(CAPTION_VALUES))
def test_captions_escape_every_config_value(caption):
    # names past what the schema allows: the captions must not rely on it
    values = {
        "first": f"gmm_{raw_rst('first')}",
        "second": f"`x`_ *{closes_script('second')}",
        "scenario": f"|s| {raw_rst('scenario')}",
    }
    config = copy.deepcopy(TINY_CONFIG)
    config.update(
        comparison=[values["first"], values["second"]],
        methods={values["first"]: {}, values["second"]: {}},
        scenarios={values["scenario"]: {}},
        figures={"example_scenario": values["scenario"], "example_trial": 0},
    )
    rendered = render_caption(caption, config)
    assert_plain_page(rendered, caption)
    assert "system-message" not in rendered and "problematic" not in rendered
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", rendered)).split())
    for name in CAPTION_VALUES[caption]:  # shown as written, whitespace aside
        assert " ".join(values[name].split()) in text, name


def test_a_directive_needs_a_newline_which_the_config_check_refuses():
    from simstudy.config import check_config
    from simstudy.study_files import ConfigError

    config = hostile_config()
    config["methods"]["gmm_"]["label"] = f"GMM{raw_rst('label')}"
    with pytest.raises(ConfigError, match="methods"):
        check_config(config)


def test_the_config_page_shows_hostile_values_as_text():
    page = config_html({"methods": {"x": {"params": {"message": PARAM_VALUE}}}})
    assert_plain_page(page, "config.html")
    (shown,) = re.findall(r"<pre>(.*)</pre>", page, flags=re.DOTALL)
    assert yaml.safe_load(html.unescape(shown))["methods"]["x"]["params"]["message"] == PARAM_VALUE
