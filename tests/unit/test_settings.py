"""Settings: defaults, sources and their precedence, env coercion, and errors that name the key and its source."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagen.application.settings import (
    DEFAULT_PRIORITIES,
    BackendSettings,
    RetrySettings,
    Settings,
    StoreSettings,
    TimeoutSettings,
    load_settings,
    load_settings_with_sources,
    settings_from_dict,
    settings_to_dict,
)
from mediagen.domain.errors import ConfigurationError
from mediagen.domain.media import MediaType
from mediagen.ports.generator import BackendOptions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
SETTINGS_CLASSES = (Settings, StoreSettings, BackendSettings, RetrySettings, TimeoutSettings)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty user config dir, so the machine's own config never leaks into a test."""
    path = tmp_path / "user-config"
    path.mkdir()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("empty")


def load(project: Path, home: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> Settings:
    return load_settings(env=dict(env or {}), cwd=project, config_dir=home, **kwargs)


def config_error(project: Path, home: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        load(project, home, env, **kwargs)
    return caught.value


# --- defaults ---------------------------------------------------------------------------------------------------


def test_nothing_configured_gives_the_documented_defaults(project: Path, home: Path) -> None:
    settings = load(project, home)

    assert settings == Settings()
    assert settings.priorities == {
        MediaType.IMAGE: ("google", "openai", "xai", "openrouter"),
        MediaType.VIDEO: ("xai", "google", "openai"),
        MediaType.AUDIO: ("elevenlabs", "openai", "google"),
    }
    assert settings.backends == {}
    assert settings.store == StoreSettings(kind="sqlite", path=None, max_items=50, ttl_seconds=30 * 86400, url=None)
    assert settings.output_dir is None
    assert settings.allowed_roots == ()
    assert settings.max_concurrent == 4
    assert settings.timeouts == TimeoutSettings(image=180, video=1200, audio=300)
    assert settings.retry == RetrySettings(attempts=3, wait_initial=0.5, wait_max=20.0, wait_jitter=0.5)
    assert settings.strict is False
    assert settings.max_artifact_bytes == 2 * 1024**3
    assert settings.sandbox is False


def test_timeouts_are_chosen_by_media_type() -> None:
    timeouts = TimeoutSettings(image=1, video=2, audio=3)

    assert [timeouts.for_media(m) for m in (MediaType.IMAGE, MediaType.VIDEO, MediaType.AUDIO)] == [1, 2, 3]


def test_an_unconfigured_backend_gets_default_backend_settings() -> None:
    settings = Settings(backends={"openai": BackendSettings(base_url="http://127.0.0.1:9/v1")})

    assert settings.backend("xai") == BackendSettings()
    assert settings.backend("openai").base_url == "http://127.0.0.1:9/v1"


def test_backend_settings_become_the_options_a_generator_factory_receives() -> None:
    backend = BackendSettings(base_url="https://gateway.example/v1", extra={"project": "p"})

    assert backend.options() == BackendOptions(base_url="https://gateway.example/v1", extra={"project": "p"})


def test_media_types_left_out_of_priorities_keep_their_default_order() -> None:
    settings = Settings(priorities={MediaType.IMAGE: ("openai",)})

    assert settings.priority(MediaType.IMAGE) == ("openai",)
    assert settings.priority(MediaType.VIDEO) == DEFAULT_PRIORITIES[MediaType.VIDEO]
    assert settings.priority(MediaType.AUDIO) == DEFAULT_PRIORITIES[MediaType.AUDIO]


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: RetrySettings(attempts=0), "attempts"),
        (lambda: RetrySettings(wait_max=-1), "wait_max"),
        (lambda: TimeoutSettings(video=0), "video"),
        (lambda: TimeoutSettings(audio=10**400), "audio"),
        (lambda: StoreSettings(kind="redis"), "url"),
        (lambda: StoreSettings(kind="disk"), "kind"),
        (lambda: Settings(store="memory"), "store"),
        (lambda: Settings(priorities={MediaType.IMAGE: ("openai", "openai")}), "priorities.image"),
        (lambda: StoreSettings(ttl_seconds=0), "ttl_seconds"),
        (lambda: Settings(max_concurrent=0), "max_concurrent"),
        (lambda: Settings(max_artifact_bytes=0), "max_artifact_bytes"),
        (lambda: Settings(strict="yes"), "strict"),
        (lambda: BackendSettings(base_url="ftp://127.0.0.1:8080"), "base_url"),
        (lambda: Settings(backends={"openai": BackendSettings(base_url="127.0.0.1:8080")}), "backends.openai.base_url"),
        (lambda: Settings(backends={"xai": BackendSettings(base_url="https://api.x.ai")}), "backends.xai.base_url"),
        (lambda: BackendSettings(requests_per_minute=0), "requests_per_minute"),
        (lambda: BackendSettings(requests_per_minute=True), "requests_per_minute"),
        (lambda: BackendSettings(max_concurrent=0), "max_concurrent"),
        (lambda: BackendSettings(max_concurrent=1.5), "max_concurrent"),
    ],
)
def test_building_settings_in_code_validates_and_names_the_field(build: Any, key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build()

    assert caught.value.key == key
    assert key in caught.value.message


# --- sources and precedence -------------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_user_config_file_is_read(project: Path, home: Path) -> None:
    write(home / "config.toml", "max_concurrent = 7\n[store]\nkind = 'memory'\n")

    settings = load(project, home)

    assert (settings.max_concurrent, settings.store.kind) == (7, "memory")


def test_the_tool_mediagen_table_of_pyproject_is_read(project: Path, home: Path) -> None:
    write(
        project / "pyproject.toml",
        "[project]\nname = 'x'\n[tool.mediagen]\nstrict = true\n[tool.mediagen.retry]\nattempts = 9\n",
    )

    settings = load(project, home)

    assert settings.strict is True
    assert settings.retry.attempts == 9


def test_a_pyproject_without_a_mediagen_table_changes_nothing(project: Path, home: Path) -> None:
    write(project / "pyproject.toml", "[project]\nname = 'x'\n[tool.other]\nstrict = 'whatever'\n")

    assert load(project, home) == Settings()


def test_a_pyproject_that_never_names_mediagen_is_not_parsed(project: Path, home: Path) -> None:
    """Not mediagen's file to judge: even broken TOML there does not stop mediagen."""
    write(project / "pyproject.toml", "[project]\nname = 'x\n[tool.other\n")

    assert load(project, home) == Settings()


def test_a_broken_pyproject_that_names_mediagen_is_an_error_naming_the_file(project: Path, home: Path) -> None:
    path = write(project / "pyproject.toml", "[project]\nname = 'x'\n[tool.mediagen\nstrict = true\n")

    with pytest.raises(ConfigurationError, match="not valid TOML") as caught:
        load(project, home)
    assert caught.value.source == str(path)


def test_mediagen_toml_in_the_working_directory_is_read(project: Path, home: Path) -> None:
    write(project / "mediagen.toml", "[priorities]\nimage = ['openai', 'google']\n")

    assert load(project, home).priority(MediaType.IMAGE) == ("openai", "google")


def test_the_file_named_by_mediagen_config_is_read_relative_to_the_working_directory(project: Path, home: Path) -> None:
    write(project / "conf" / "ci.toml", "sandbox = true\n")

    assert load(project, home, {"MEDIAGEN_CONFIG": "conf/ci.toml"}).sandbox is True


def test_mediagen_config_may_name_a_pyproject_and_then_its_tool_mediagen_table_is_read(
    project: Path, home: Path, tmp_path: Path
) -> None:
    other = write(tmp_path / "other" / "pyproject.toml", "[tool.mediagen]\nmax_concurrent = 12\n")

    assert load(project, home, {"MEDIAGEN_CONFIG": str(other)}).max_concurrent == 12


def test_mediagen_config_naming_a_missing_file_is_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_CONFIG": "nowhere.toml"})

    assert error.source == "MEDIAGEN_CONFIG"
    assert str(project / "nowhere.toml") in error.message


def test_an_empty_mediagen_config_counts_as_unset(project: Path, home: Path) -> None:
    assert load(project, home, {"MEDIAGEN_CONFIG": ""}) == Settings()


LAYER_NAMES = ["user config", "pyproject", "mediagen.toml", "MEDIAGEN_CONFIG", "env", "overrides"]


@pytest.mark.parametrize("top", range(len(LAYER_NAMES) + 1))
def test_later_sources_win_in_the_documented_order(project: Path, home: Path, tmp_path: Path, top: int) -> None:
    """Sources 0..top-1 each set max_concurrent to 10 + their rank; the highest present must win."""
    env: dict[str, str] = {}
    overrides: dict[str, Any] | None = None
    for rank, name in enumerate(LAYER_NAMES[:top]):
        value = 10 + rank
        if name == "user config":
            write(home / "config.toml", f"max_concurrent = {value}\n")
        elif name == "pyproject":
            write(project / "pyproject.toml", f"[tool.mediagen]\nmax_concurrent = {value}\n")
        elif name == "mediagen.toml":
            write(project / "mediagen.toml", f"max_concurrent = {value}\n")
        elif name == "MEDIAGEN_CONFIG":
            env["MEDIAGEN_CONFIG"] = str(write(tmp_path / "named.toml", f"max_concurrent = {value}\n"))
        elif name == "env":
            env["MEDIAGEN_MAX_CONCURRENT"] = str(value)
        else:
            overrides = {"max_concurrent": value}

    settings = load(project, home, env, overrides=overrides)

    assert settings.max_concurrent == (4 if top == 0 else 10 + top - 1)


def test_sources_merge_key_by_key_so_env_keeps_what_a_file_set_beside_it(project: Path, home: Path) -> None:
    write(project / "mediagen.toml", "[store]\nkind = 'sqlite'\npath = '/var/lib/mediagen/state.db'\nmax_items = 7\n")

    settings = load(project, home, {"MEDIAGEN_STORE__KIND": "memory"})

    assert settings.store == StoreSettings(kind="memory", path=Path("/var/lib/mediagen/state.db"), max_items=7)


def test_setting_one_media_type_priority_keeps_the_others(project: Path, home: Path) -> None:
    write(home / "config.toml", "[priorities]\nvideo = ['google']\n")

    settings = load(project, home, {"MEDIAGEN_PRIORITIES__AUDIO": "openai"})

    assert settings.priorities == {
        MediaType.IMAGE: DEFAULT_PRIORITIES[MediaType.IMAGE],
        MediaType.VIDEO: ("google",),
        MediaType.AUDIO: ("openai",),
    }


def test_backend_tables_merge_across_files_env_and_overrides(project: Path, home: Path) -> None:
    write(home / "config.toml", "[backends.openai]\nbase_url = 'http://127.0.0.1:8000/v1'\nextra = {org = 'a'}\n")
    write(project / "mediagen.toml", "[backends.openai.extra]\nproject = 'p'\n")
    env = {"MEDIAGEN_BACKENDS__OPENAI__DEFAULT_MODELS__IMAGE": "gpt-image-1"}

    settings = load(project, home, env, overrides={"backends": {"openai": {"enabled": False}}})

    assert settings.backend("openai") == BackendSettings(
        base_url="http://127.0.0.1:8000/v1",
        default_models={MediaType.IMAGE: "gpt-image-1"},
        extra={"org": "a", "project": "p"},
        enabled=False,
    )


def test_overrides_accept_python_values(project: Path, home: Path, tmp_path: Path) -> None:
    overrides = {
        "output_dir": tmp_path / "out",
        "priorities": {MediaType.VIDEO: ("openai",)},
        "strict": True,
        "timeouts": {"video": 60},
    }

    settings = load(project, home, overrides=overrides)

    assert settings.output_dir == tmp_path / "out"
    assert settings.priority(MediaType.VIDEO) == ("openai",)
    assert settings.strict is True
    assert settings.timeouts.video == 60.0


def test_relative_paths_count_from_the_file_that_set_them(project: Path, home: Path) -> None:
    write(home / "config.toml", "[store]\npath = 'state/mediagen.db'\n")
    write(project / "mediagen.toml", "output_dir = 'renders'\nallowed_roots = ['shared', '/srv/media']\n")

    settings = load(project, home)

    assert settings.store.path == home / "state" / "mediagen.db"
    assert settings.output_dir == project / "renders"
    assert settings.allowed_roots == (project / "shared", Path("/srv/media"))


def test_relative_paths_from_env_and_overrides_count_from_the_working_directory(project: Path, home: Path) -> None:
    settings = load(project, home, {"MEDIAGEN_ALLOWED_ROOTS": "a, b"}, overrides={"output_dir": "out"})

    assert settings.allowed_roots == (project / "a", project / "b")
    assert settings.output_dir == project / "out"


def test_a_tilde_in_a_path_means_the_home_directory(project: Path, home: Path) -> None:
    settings = load(project, home, {"MEDIAGEN_OUTPUT_DIR": "~/renders"})

    assert settings.output_dir == Path.home() / "renders"


def test_load_settings_with_sources_tells_where_each_key_came_from(project: Path, home: Path) -> None:
    toml = write(project / "mediagen.toml", "[retry]\nattempts = 5\n")

    loaded = load_settings_with_sources(
        env={"MEDIAGEN_STORE__KIND": "memory"}, cwd=project, config_dir=home, overrides={"strict": True}
    )

    assert loaded.settings.retry.attempts == 5
    assert loaded.sources["retry.attempts"] == str(toml)
    assert loaded.sources["store.kind"] == "MEDIAGEN_STORE__KIND"
    assert loaded.sources["strict"] == "overrides"
    assert loaded.sources["retry.wait_max"] == "defaults"
    assert loaded.sources["priorities.image"] == "defaults"


# --- env coercion -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True), (" On ", True),
        ("0", False), ("false", False), ("False", False), ("no", False), ("off", False),
    ],
)  # fmt: skip
def test_env_booleans_accept_the_usual_words(project: Path, home: Path, text: str, expected: bool) -> None:
    settings = load(project, home, {"MEDIAGEN_STRICT": text, "MEDIAGEN_SANDBOX": text})

    assert (settings.strict, settings.sandbox) == (expected, expected)


def test_env_values_are_coerced_to_every_setting_type(project: Path, home: Path) -> None:
    env = {
        "MEDIAGEN_MAX_CONCURRENT": "8",
        "MEDIAGEN_MAX_ARTIFACT_BYTES": "1_000_000",
        "MEDIAGEN_RETRY__ATTEMPTS": " 5 ",
        "MEDIAGEN_RETRY__WAIT_INITIAL": "0.25",
        "MEDIAGEN_RETRY__WAIT_MAX": "3",
        "MEDIAGEN_TIMEOUTS__VIDEO": "1e3",
        "MEDIAGEN_STORE__KIND": "Memory",
        "MEDIAGEN_STORE__PATH": "/tmp/state.db",
        "MEDIAGEN_STORE__TTL_SECONDS": "none",
        "MEDIAGEN_STORE__MAX_ITEMS": "10",
        "MEDIAGEN_PRIORITIES__IMAGE": " openai , google,",
        "MEDIAGEN_OUTPUT_DIR": "/srv/out",
        "MEDIAGEN_ALLOWED_ROOTS": "/srv/a,/srv/b",
        "MEDIAGEN_BACKENDS__OPENAI__BASE_URL": "http://127.0.0.1:8080/v1",
        "MEDIAGEN_BACKENDS__OPENAI__DEFAULT_MODELS__VIDEO": "sora-2",
        "MEDIAGEN_BACKENDS__OPENAI__EXTRA__ORGANIZATION": "org-1",
        "MEDIAGEN_BACKENDS__OPENAI__ENABLED": "off",
        "MEDIAGEN_BACKENDS__OPENAI__REQUESTS_PER_MINUTE": "50",
        "MEDIAGEN_BACKENDS__XAI__BASE_URL": "127.0.0.1:50051",
        "MEDIAGEN_BACKENDS__OPENAI__MAX_CONCURRENT": "3",
    }

    settings = load(project, home, env)
    assert settings.backend("xai").base_url == "127.0.0.1:50051"

    assert settings.max_concurrent == 8
    assert settings.max_artifact_bytes == 1_000_000
    assert settings.retry == RetrySettings(attempts=5, wait_initial=0.25, wait_max=3.0)
    assert settings.timeouts.video == 1000.0
    assert settings.store == StoreSettings(kind="memory", path=Path("/tmp/state.db"), max_items=10, ttl_seconds=None)
    assert settings.priority(MediaType.IMAGE) == ("openai", "google")
    assert settings.output_dir == Path("/srv/out")
    assert settings.allowed_roots == (Path("/srv/a"), Path("/srv/b"))
    assert settings.backend("openai") == BackendSettings(
        base_url="http://127.0.0.1:8080/v1",
        default_models={MediaType.VIDEO: "sora-2"},
        extra={"organization": "org-1"},
        enabled=False,
        requests_per_minute=50.0,
        max_concurrent=3,
    )


def test_an_empty_env_value_unsets_an_optional_setting(project: Path, home: Path) -> None:
    write(project / "mediagen.toml", "output_dir = '/srv/out'\n")

    settings = load(project, home, {"MEDIAGEN_OUTPUT_DIR": "", "MEDIAGEN_STORE__TTL_SECONDS": ""})

    assert settings.output_dir is None
    assert settings.store.ttl_seconds is None


def test_env_variable_names_are_case_insensitive(project: Path, home: Path) -> None:
    settings = load(project, home, {"mediagen_retry__attempts": "6", "MediaGen_Strict": "1"})

    assert (settings.retry.attempts, settings.strict) == (6, True)


def test_other_env_variables_are_ignored(project: Path, home: Path) -> None:
    assert load(project, home, {"OPENAI_API_KEY": "sk-x", "MEDIAGENX": "1", "PATH": "/bin"}) == Settings()


# --- unknown keys -----------------------------------------------------------------------------------------------


def test_an_unknown_env_setting_is_an_error_that_suggests_the_right_name(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_RETRY__ATTEMPS": "3"})

    assert error.source == "MEDIAGEN_RETRY__ATTEMPS"
    assert error.key == "retry.attemps"
    assert "MEDIAGEN_RETRY__ATTEMPTS" in error.message


def test_an_unknown_top_level_env_setting_is_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_COLOUR": "blue"})

    assert (error.key, error.source) == ("colour", "MEDIAGEN_COLOUR")
    assert "unknown setting" in error.message


def test_an_unknown_toml_key_is_an_error_naming_the_file(project: Path, home: Path) -> None:
    path = write(project / "mediagen.toml", "[store]\nkindd = 'memory'\n")

    error = config_error(project, home)

    assert (error.key, error.source) == ("store.kindd", str(path))
    assert "store.kind?" in error.message


def test_an_unknown_key_in_pyproject_names_the_tool_mediagen_table(project: Path, home: Path) -> None:
    path = write(project / "pyproject.toml", "[tool.mediagen]\nmax_concurent = 3\n")

    error = config_error(project, home)

    assert error.source == f"{path} [tool.mediagen]"
    assert "max_concurrent" in error.message


def test_an_unknown_override_is_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, overrides={"retry": {"tries": 2}})

    assert (error.key, error.source) == ("retry.tries", "overrides")


def test_an_unknown_media_type_in_priorities_is_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_PRIORITIES__IMAGES": "openai"})

    assert (error.key, error.source) == ("priorities.images", "MEDIAGEN_PRIORITIES__IMAGES")
    assert "image, video or audio" in error.message


def test_priorities_may_name_backends_that_are_not_installed(project: Path, home: Path) -> None:
    settings = load(project, home, {"MEDIAGEN_PRIORITIES__IMAGE": "some-plugin,openai"})

    assert settings.priority(MediaType.IMAGE) == ("some-plugin", "openai")


def test_env_variables_that_set_a_table_and_a_key_inside_it_clash(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_STORE": "memory", "MEDIAGEN_STORE__KIND": "memory"})

    assert error.message.startswith("MEDIAGEN_STORE and MEDIAGEN_STORE__KIND both set store")


def test_an_env_name_with_an_empty_segment_is_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_RETRY____ATTEMPTS": "3"})

    assert error.source == "MEDIAGEN_RETRY____ATTEMPTS"
    assert "double underscore" in error.message


# --- bad values name the key, the value, what is expected and the source ----------------------------------------


@pytest.mark.parametrize(
    ("env", "key", "shown", "expected"),
    [
        ({"MEDIAGEN_RETRY__ATTEMPTS": "0"}, "retry.attempts", "'0'", "an integer >= 1"),
        ({"MEDIAGEN_RETRY__ATTEMPTS": "2.5"}, "retry.attempts", "'2.5'", "an integer"),
        ({"MEDIAGEN_RETRY__WAIT_INITIAL": "-1"}, "retry.wait_initial", "'-1'", "a number >= 0"),
        ({"MEDIAGEN_RETRY__WAIT_JITTER": "fast"}, "retry.wait_jitter", "'fast'", "a finite number"),
        ({"MEDIAGEN_TIMEOUTS__IMAGE": "0"}, "timeouts.image", "'0'", "a number > 0"),
        ({"MEDIAGEN_TIMEOUTS__AUDIO": "nan"}, "timeouts.audio", "'nan'", "a finite number"),
        ({"MEDIAGEN_MAX_CONCURRENT": "0"}, "max_concurrent", "'0'", "an integer >= 1"),
        ({"MEDIAGEN_MAX_ARTIFACT_BYTES": "-5"}, "max_artifact_bytes", "'-5'", "an integer >= 1"),
        ({"MEDIAGEN_STRICT": "maybe"}, "strict", "'maybe'", "true or false"),
        ({"MEDIAGEN_SANDBOX": "2"}, "sandbox", "'2'", "true or false"),
        ({"MEDIAGEN_STORE__KIND": "disk"}, "store.kind", "'disk'", "'sqlite', 'memory', 'redis'"),
        ({"MEDIAGEN_STORE__MAX_ITEMS": "0"}, "store.max_items", "'0'", "an integer >= 1"),
        ({"MEDIAGEN_STORE__TTL_SECONDS": "0"}, "store.ttl_seconds", "'0'", "a number > 0"),
        ({"MEDIAGEN_STORE__URL": "http://x"}, "store.url", "'http://x'", "redis://"),
        ({"MEDIAGEN_PRIORITIES__VIDEO": "xai,xai"}, "priorities.video", "'xai,xai'", "each backend at most once"),
        ({"MEDIAGEN_BACKENDS__XAI__BASE_URL": "grpc://x"}, "backends.xai.base_url", "'grpc://x'", "host:port"),
        (
            {"MEDIAGEN_BACKENDS__XAI__BASE_URL": "http://127.0.0.1:5/v1"},
            "backends.xai.base_url",
            "'http://127.0.0.1:5/v1'",
            "host:port of a gRPC API, not a URL",
        ),
        ({"MEDIAGEN_BACKENDS__XAI__BASE_URL": "127.0.0.1:0"}, "backends.xai.base_url", "'127.0.0.1:0'", "host:port"),
        (
            {"MEDIAGEN_BACKENDS__OPENAI__BASE_URL": "127.0.0.1:5"},
            "backends.openai.base_url",
            "'127.0.0.1:5'",
            "http://",
        ),
        ({"MEDIAGEN_BACKENDS__XAI__ENABLED": "nope"}, "backends.xai.enabled", "'nope'", "true or false"),
        ({"MEDIAGEN_BACKENDS__XAI__DEFAULT_MODELS__IMAGE": " "}, "backends.xai.default_models.image", "' '", "a model"),
        ({"MEDIAGEN_BACKENDS__XAI": "on"}, "backends.xai", "'on'", "a table"),
        ({"MEDIAGEN_RETRY": "3"}, "retry", "'3'", "a table"),
    ],
)
def test_a_bad_env_value_names_key_value_expectation_and_variable(
    project: Path, home: Path, env: dict[str, str], key: str, shown: str, expected: str
) -> None:
    error = config_error(project, home, env)

    (variable,) = env
    assert (error.key, error.source) == (key, variable)
    assert key in error.message
    assert shown in error.message
    assert expected in error.message
    assert variable in error.message


@pytest.mark.parametrize(
    ("toml", "key", "shown", "expected"),
    [
        ("max_concurrent = 'four'\n", "max_concurrent", "'four'", "an integer"),
        ("max_concurrent = 2.0\n", "max_concurrent", "2.0", "an integer"),
        ("strict = 1\n", "strict", "1", "true or false"),
        ("output_dir = 5\n", "output_dir", "5", "a path"),
        (
            "allowed_roots = '/a'\nsandbox = true\n[priorities]\nimage = 'openai'\naudio = [1]\n",
            "priorities.audio",
            "[1]",
            "text",
        ),
        ("[timeouts]\nvideo = -3\n", "timeouts.video", "-3", "a number > 0"),
        ("[store]\nttl_seconds = true\n", "store.ttl_seconds", "True", "a finite number, or none"),
        ("[backends.google]\ndefault_models = {image = 3}\n", "backends.google.default_models.image", "3", "text"),
        ("[backends.google]\nextra = 'x'\n", "backends.google.extra", "'x'", "a table"),
        ("priorities = ['openai']\n", "priorities", "['openai']", "a table"),
    ],
)
def test_a_bad_toml_value_names_key_value_expectation_and_file(
    project: Path, home: Path, toml: str, key: str, shown: str, expected: str
) -> None:
    path = write(project / "mediagen.toml", toml)

    error = config_error(project, home)

    assert (error.key, error.source) == (key, str(path))
    assert f"{key} = {shown}" in error.message
    assert expected in error.message
    assert str(path) in error.message


def test_a_bad_override_names_overrides_as_the_source(project: Path, home: Path) -> None:
    error = config_error(project, home, overrides={"max_concurrent": 0})

    assert (error.key, error.source) == ("max_concurrent", "overrides")
    assert "(from overrides)" in error.message


def test_a_redis_store_without_url_names_store_url_and_where_the_kind_was_set(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_STORE__KIND": "redis"})

    assert (error.key, error.source) == ("store.url", "MEDIAGEN_STORE__KIND")
    assert "redis://127.0.0.1:6379/0" in error.message


def test_a_redis_store_with_a_url_loads(project: Path, home: Path) -> None:
    settings = load(project, home, {"MEDIAGEN_STORE__KIND": "redis", "MEDIAGEN_STORE__URL": "redis://127.0.0.1:6379/0"})

    assert settings.store.url == "redis://127.0.0.1:6379/0"


def test_every_bad_value_is_reported_at_once(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_STRICT": "maybe", "MEDIAGEN_RETRY__ATTEMPTS": "0"})

    assert "2 problems" in error.message
    assert "MEDIAGEN_STRICT" in error.message
    assert "MEDIAGEN_RETRY__ATTEMPTS" in error.message


def test_malformed_toml_is_an_error_naming_the_file_and_line(project: Path, home: Path) -> None:
    path = write(project / "mediagen.toml", "strict = true\nmax_concurrent = = 3\n")

    error = config_error(project, home)

    assert error.source == str(path)
    assert str(path) in error.message
    assert "line 2" in error.message


def test_a_non_utf8_settings_file_is_an_error_naming_it(project: Path, home: Path) -> None:
    path = project / "mediagen.toml"
    path.write_bytes(b"strict = '\xff'\n")

    assert config_error(project, home).source == str(path)


def test_a_password_in_a_url_never_appears_in_an_error(project: Path, home: Path) -> None:
    error = config_error(project, home, {"MEDIAGEN_STORE__URL": "http://user:hunter2@cache:6379/0"})

    assert "hunter2" not in error.message
    assert "user:***@cache:6379" in error.message


def is_valid_attempt_count(text: str) -> bool:
    try:
        return int(text.strip(), 10) >= 1  # the hook strips what str.strip does (e.g. "1\x1f" is 1), int() less
    except ValueError:
        return False


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.integers(max_value=0).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12).filter(
            lambda text: not is_valid_attempt_count(text)
        ),
    )
)
def test_any_invalid_retry_attempts_from_env_names_the_variable(empty_dir: Path, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env={"MEDIAGEN_RETRY__ATTEMPTS": value}, cwd=empty_dir, config_dir=empty_dir)

    assert caught.value.key == "retry.attempts"
    assert caught.value.source == "MEDIAGEN_RETRY__ATTEMPTS"
    assert "retry.attempts" in caught.value.message
    assert "MEDIAGEN_RETRY__ATTEMPTS" in caught.value.message


# --- round trip -------------------------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
absolute_paths = st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True), max_size=3).map(
    lambda parts: Path("/", *parts)
)
positive = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False)
non_negative = st.floats(min_value=0, max_value=1e4, allow_nan=False)
json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
urls = st.builds(lambda host, port: f"http://{host}:{port}/v1", names, st.integers(1, 65535))

backend_settings = st.builds(
    BackendSettings,
    base_url=st.none() | urls,
    default_models=st.dictionaries(st.sampled_from(MediaType), names),
    extra=st.dictionaries(st.text(max_size=8), json_leaves | st.lists(json_leaves, max_size=3), max_size=3),
    enabled=st.booleans(),
)
store_settings = st.sampled_from(["sqlite", "memory", "redis"]).flatmap(
    lambda kind: st.builds(
        StoreSettings,
        kind=st.just(kind),
        path=st.none() | absolute_paths,
        max_items=st.integers(1, 10_000),
        ttl_seconds=st.none() | positive,
        url=st.builds(lambda db: f"redis://127.0.0.1:6379/{db}", st.integers(0, 15)) if kind == "redis" else st.none(),
    )
)
all_settings = st.builds(
    Settings,
    priorities=st.dictionaries(st.sampled_from(MediaType), st.lists(names, unique=True, max_size=4).map(tuple)),
    backends=st.dictionaries(names, backend_settings, max_size=3),
    store=store_settings,
    output_dir=st.none() | absolute_paths,
    allowed_roots=st.lists(absolute_paths, max_size=3).map(tuple),
    max_concurrent=st.integers(1, 64),
    timeouts=st.builds(TimeoutSettings, image=positive, video=positive, audio=positive),
    retry=st.builds(
        RetrySettings,
        attempts=st.integers(1, 20),
        wait_initial=non_negative,
        wait_max=non_negative,
        wait_jitter=non_negative,
    ),
    strict=st.booleans(),
    max_artifact_bytes=st.integers(1, 2**40),
    sandbox=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(original=all_settings)
def test_settings_survive_unstructure_to_json_and_structure_back(original: Settings) -> None:
    data = json.loads(json.dumps(settings_to_dict(original, redact_secrets=False)))

    assert settings_from_dict(data) == original


def test_settings_to_dict_is_json_ready_and_masks_url_passwords() -> None:
    settings = Settings(
        store=StoreSettings(kind="redis", url="redis://:hunter2@127.0.0.1:6379/0"),
        backends={"openai": BackendSettings(base_url="https://me:pw@gateway.example/v1")},
        allowed_roots=(Path("/srv"),),
    )

    data = settings_to_dict(settings)

    assert json.loads(json.dumps(data)) == data
    assert data["store"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert data["backends"]["openai"]["base_url"] == "https://me:***@gateway.example/v1"
    assert data["allowed_roots"] == ["/srv"]
    assert data["priorities"]["image"] == list(DEFAULT_PRIORITIES[MediaType.IMAGE])


def test_no_password_token_or_sandbox_key_shows_in_the_settings_repr_or_their_dict() -> None:
    settings = Settings(
        store=StoreSettings(kind="redis", url="redis://:hunter2@127.0.0.1:6379/0"),
        backends={"openai": BackendSettings(base_url="https://gateway.example/v1?api_key=tok3n&region=eu")},
        sandbox_options={"api_key": "only-this-k3y"},
    )
    data = settings_to_dict(settings)
    assert data["backends"]["openai"]["base_url"] == "https://gateway.example/v1?api_key=***&region=eu"
    assert data["sandbox_options"]["api_key"] == "***"
    for shown in (repr(settings), json.dumps(data)):
        assert "hunter2" not in shown and "tok3n" not in shown
    assert "only-this-k3y" not in json.dumps(data)
    plain = "http://127.0.0.1:8080/v1?"  # nothing to hide: the text stays exactly as it was
    assert (
        settings_to_dict(Settings(backends={"x": BackendSettings(base_url=plain)}))["backends"]["x"]["base_url"]
        == plain
    )


def test_settings_from_dict_names_its_source_in_errors() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from_dict({"retry": {"attempts": -1}}, source="batch.json")

    assert (caught.value.key, caught.value.source) == ("retry.attempts", "batch.json")


# --- the reference documentation --------------------------------------------------------------------------------


def documented_keys(cls: type[Any] = Settings, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str | None]]:
    """Each setting as (dotted key, env var spelling or None for tables); `<name>` stands for a backend name."""
    for field in attrs.fields(attrs.resolve_types(cls)):
        key = (*prefix, field.name)
        if attrs.has(field.type):
            yield from documented_keys(field.type, key)
        elif get_origin(field.type) is dict and attrs.has(get_args(field.type)[1]):
            yield ".".join(key), None
            yield from documented_keys(get_args(field.type)[1], (*key, "<name>"))
        elif get_origin(field.type) is dict:
            yield ".".join(key), None
        else:
            yield ".".join(key), "MEDIAGEN_" + "__".join(key).upper()


def test_every_settings_field_is_in_the_configuration_reference() -> None:
    text = DOCS.read_text(encoding="utf-8")
    keys = list(documented_keys())

    assert len(keys) == len({key for key, _ in keys})
    for cls in SETTINGS_CLASSES:
        for field in attrs.fields(cls):
            assert f"`{field.name}`" in text or f".{field.name}`" in text, f"{cls.__name__}.{field.name} undocumented"
    for key, env_name in keys:
        assert f"`{key}`" in text, f"{key} is not in docs/configuration.md"
        if env_name is not None:
            assert f"`{env_name}`" in text, f"{env_name} is not in docs/configuration.md"
    for media_type in MediaType:
        assert f"`priorities.{media_type.value}`" in text


def test_the_defaults_in_the_configuration_reference_are_the_real_ones() -> None:
    """Reference rows read `| \\`key\\` | type | \\`default\\` | ...`; each default must match the code."""
    defaults = settings_to_dict(Settings())
    backend_defaults = settings_to_dict(Settings(backends={"<name>": BackendSettings()}))["backends"]["<name>"]
    rows = re.findall(r"^\| `([a-z_.<>]+)` \| [^|]+ \| `([^`]+)`", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    checked = set()
    for key, documented in rows:
        parts = key.split(".")
        node: Any = backend_defaults if parts[:2] == ["backends", "<name>"] else defaults
        for part in parts[2:] if parts[:2] == ["backends", "<name>"] else parts:
            node = node[part]
        assert (None if documented == "none" else json.loads(documented)) == node, key
        checked.add(key)
    every_key = {key for key, _ in documented_keys()} - {"priorities"} | {f"priorities.{m.value}" for m in MediaType}
    assert checked == every_key


@pytest.mark.parametrize("given", ["s3://renders/nightly", "s3://renders"])
def test_an_s3_output_dir_is_kept_as_a_place_not_made_relative_to_the_project(
    project: Path, home: Path, given: str
) -> None:
    write(project / "mediagen.toml", f"output_dir = '{given}'\n")
    assert str(load(project, home, {}).output_dir) == given.replace("://", ":/")
    assert str(load(project, home, {"MEDIAGEN_OUTPUT_DIR": given}).output_dir) == given.replace("://", ":/")


def test_the_defaults_layer_holds_the_defaults_as_settings_to_dict_gives_them() -> None:
    """Loading takes the defaults from attrs' `asdict` (no unstructure code generated at every load): the same data."""
    from mediagen.application.settings.loading import _plain_defaults

    assert _plain_defaults() == settings_to_dict(Settings(), redact_secrets=False)


def test_the_defaults_alone_are_what_the_converter_builds_from_them(project: Path, home: Path) -> None:
    """With no file, MEDIAGEN_* variable or override, loading returns `Settings()` without the converter (cattrs
    loads when a source sets a key): the converter builds the same settings from the defaults layer."""
    from mediagen.application.settings.converter import _converter
    from mediagen.application.settings.loading import _plain_defaults

    built = _converter.structure(_plain_defaults(), Settings)
    assert built == Settings() and repr(built) == repr(Settings())
    loaded = load_settings_with_sources(env={}, cwd=project, config_dir=home)
    assert loaded.settings == built and repr(loaded.settings) == repr(built)
    assert set(loaded.sources.values()) == {"defaults"}
    write(project / "mediagen.toml", "")  # an empty file is a source: it goes through the builders
    assert load(project, home) == built


def both_builders(env: Mapping[str, str], cwd: Path) -> tuple[Settings | None, Settings | ConfigurationError]:
    """What the builder without cattrs makes of these MEDIAGEN_* variables (None: it leaves them to the converter),
    and what loading makes of them through the converter: the settings, or the error it words."""
    from mediagen.application.settings.converter import _converter
    from mediagen.application.settings.loading import _defaults, _plain_defaults
    from mediagen.application.settings.plain import build_plain
    from mediagen.application.settings.sources import _anchor_relative_paths, _env_layers

    layers = _defaults()
    for name, table in _env_layers(env):
        layers.add(table, name, cwd)
    _anchor_relative_paths(layers)
    plain = build_plain(layers.tree, _plain_defaults())
    try:
        converted: Settings | ConfigurationError = _converter.structure(layers.tree, Settings)
    except Exception:  # the converter's own errors, worded by loading
        with pytest.raises(ConfigurationError) as caught:
            load_settings(env=dict(env), cwd=cwd, config_dir=cwd)
        converted = caught.value
    return plain, converted


ENV_VALUES = {
    "MEDIAGEN_BACKENDS__XAI__BASE_URL": st.sampled_from(["127.0.0.1:50051", "api.x.ai", "http://x/v1", "none", ""]),
    "MEDIAGEN_BACKENDS__OPENAI__BASE_URL": st.sampled_from(["http://127.0.0.1:8080/v1", "127.0.0.1:1", " NONE "]),
    "MEDIAGEN_BACKENDS__ELEVENLABS__EXTRA__POLL_INTERVAL": st.sampled_from(["0.1", "x", ""]),
    "MEDIAGEN_BACKENDS__GOOGLE__ENABLED": st.sampled_from(["true", "Off", "1", "maybe"]),
    "MEDIAGEN_BACKENDS__GOOGLE__REQUESTS_PER_MINUTE": st.sampled_from(["60", "0", "-1", "none", "1e400"]),
    "MEDIAGEN_BACKENDS__OPENAI__DEFAULT_MODELS__IMAGE": st.sampled_from(["gpt-image-1", ""]),
    "MEDIAGEN_OUTPUT_DIR": st.sampled_from(["/tmp/out", "out", "~/renders", "s3://bucket/p", "", "none"]),
    "MEDIAGEN_STORE__KIND": st.sampled_from(["memory", "SQLite", "redis", "disk"]),
    "MEDIAGEN_STORE__URL": st.sampled_from(["redis://127.0.0.1:6379/0", "http://x", "none"]),
    "MEDIAGEN_STORE__MAX_ITEMS": st.sampled_from(["10", " 3 ", "0", "2.5", "many"]),
    "MEDIAGEN_STORE__TTL_SECONDS": st.sampled_from(["60", "none", "-5", "inf"]),
    "MEDIAGEN_TIMEOUTS__IMAGE": st.sampled_from(["30", "0.5", "0", "nan"]),
    "MEDIAGEN_RETRY__ATTEMPTS": st.sampled_from(["1", "5", "0", "two"]),
    "MEDIAGEN_STRICT": st.sampled_from(["yes", "no", "2"]),
    "MEDIAGEN_MAX_CONCURRENT": st.sampled_from(["8", "-1"]),
    "MEDIAGEN_ALLOWED_ROOTS": st.sampled_from(["/a,/b", "rel"]),
    "MEDIAGEN_PRIORITIES__VIDEO": st.sampled_from(["google,xai", "xai,xai"]),
    "MEDIAGEN_SANDBOX_OPTIONS__LATENCY": st.sampled_from(["0.25"]),
    "MEDIAGEN_UNKNOWN_KEY": st.sampled_from(["1"]),
}


@settings(max_examples=300, deadline=None)
@given(env=st.dictionaries(st.sampled_from(sorted(ENV_VALUES)), st.none(), max_size=6).flatmap(
    lambda names: st.fixed_dictionaries({name: ENV_VALUES[name] for name in names})
))  # fmt: skip
def test_settings_built_without_cattrs_are_the_converters_or_left_to_it(empty_dir: Path, env: dict[str, str]) -> None:
    """Variables whose values need only the leaf hooks are built without loading cattrs; whatever the converter
    would refuse (or builds from lists and the priorities) is left to it, so its errors keep their wording."""
    plain, converted = both_builders(env, empty_dir)
    if isinstance(converted, ConfigurationError):
        assert plain is None, converted
    elif plain is not None:
        assert plain == converted and repr(plain) == repr(converted)


def test_the_usual_variables_load_without_cattrs(empty_dir: Path) -> None:
    """An endpoint, an output directory, a store kind, a number and a vendor extra: no list or priorities among them."""
    env = {
        "MEDIAGEN_BACKENDS__XAI__BASE_URL": "127.0.0.1:50051",
        "MEDIAGEN_BACKENDS__XAI__EXTRA__POLL_INTERVAL": "0.1",
        "MEDIAGEN_OUTPUT_DIR": "renders",
        "MEDIAGEN_STORE__KIND": "memory",
        "MEDIAGEN_RETRY__ATTEMPTS": "5",
        "MEDIAGEN_STRICT": "yes",
    }
    plain, converted = both_builders(env, empty_dir)
    assert plain is not None and plain == converted
    assert plain.output_dir == empty_dir / "renders" and plain.retry.attempts == 5 and plain.strict is True
    assert plain.backend("xai").options() == BackendOptions(base_url="127.0.0.1:50051", extra={"poll_interval": "0.1"})


def test_a_settings_file_of_text_and_numbers_builds_as_the_converter_does(project: Path, home: Path) -> None:
    write(
        project / "mediagen.toml",
        "max_concurrent = 6\noutput_dir = 'out'\n[store]\nkind = 'memory'\nttl_seconds = 60\n"
        "[backends.openai]\nbase_url = 'http://127.0.0.1:9/v1'\nextra = { poll_interval = 0.5, tags = ['a'] }\n",
    )
    settings = load(project, home)
    assert settings.max_concurrent == 6 and settings.output_dir == project / "out"
    assert settings.store.kind == "memory" and settings.store.ttl_seconds == 60.0
    assert isinstance(settings.store.ttl_seconds, float)  # the converter's float hook, by either builder
    assert settings.backend("openai").extra == {"poll_interval": 0.5, "tags": ["a"]}
