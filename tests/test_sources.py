"""The source registry and ``fetch``: real HTTP against a local server, mirrors, cache, resume."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

from transport_access import sources as src
from transport_access.config import load_study
from transport_access.errors import ConfigError, DownloadError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DORSET_STUDY = PROJECT_ROOT / "configs" / "dorset.yaml"

# Keys whose targets are the non-null data paths of configs/dorset.yaml, in the study's order.
DORSET_KEYS = [
    "lsoa11_centroids",
    "lsoa11_boundaries_dorset",
    "census2021_population_dorset",
    "lsoa11_lsoa21_lookup_dorset",
    "imd2019_file1",
    "imd2019_file2",
    "imd2019_file6",
    "gias_open_subset",
    "ods_epraccur",
    "ods_ebranchs",
    "codepoint_open",
    "naptan_120",
    "naptan_128",
    "naptan_129",
    "tnds_south_west",
    "rail_timetable_cif",
    "naptan_910",
    "rail_tiplocs",
    "jts_2017_dorset",
]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves files under ``server.root`` with single-range support and test switches."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        range_header = self.headers.get("Range")
        state["requests"].append((self.path, range_header))
        if state["fail_status"]:
            self.send_error(state["fail_status"])
            return
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        path = (self.server.root / relative).resolve()
        if self.server.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        etag = f'"{state["etag_version"]}-{len(body)}"'
        if_range = self.headers.get("If-Range")
        state["if_range"].append(if_range)
        start = 0
        if range_header and not state["ignore_range"] and if_range in (None, etag):
            start = int(range_header.removeprefix("bytes=").split("-")[0])
        if start >= len(body) > 0:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.end_headers()
        if state["truncate_at"] is not None:
            # Promise the whole body, send part of it and hang up: an interrupted transfer.
            payload = payload[: state["truncate_at"]]
            state["truncate_at"] = None
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True
            return
        state["bytes_sent"] += len(payload)
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    root: Path
    state: dict


@pytest.fixture
def serve() -> Iterator:
    """Start a local HTTP server on a random port for a folder; return its base URL and state."""
    servers: list[_Server] = []

    def start(root: Path) -> tuple[str, dict]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.root = Path(root).resolve()
        server.state = {
            "requests": [],
            "fail_status": None,
            "ignore_range": False,
            "truncate_at": None,
            "bytes_sent": 0,
            "etag_version": "v1",
            "if_range": [],
        }
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def data_server(serve, shared_data: Path) -> tuple[str, dict]:
    return serve(shared_data)


# --- the registry ------------------------------------------------------------------------


def test_registry_entries_are_complete_and_unique() -> None:
    keys = [s.key for s in src._REGISTRY_LIST]
    assert len(keys) == len(set(keys)) == len(src.REGISTRY)
    targets = [s.target for s in src.REGISTRY.values()]
    assert len(targets) == len(set(targets))
    for source in src.REGISTRY.values():
        assert source.url.startswith(("https://", "ftp://")), source.key
        assert source.title and source.publisher and source.licence, source.key
        assert source.attribution.endswith("."), source.key
        assert source.access in ("direct", "page", "login", "derived"), source.key
        target = PurePosixPath(source.target)
        assert not target.is_absolute() and ".." not in target.parts, source.key
        assert source.resolved_url()  # every placeholder has a default
        if source.access != "direct":
            assert source.notes, f"{source.key}: say how to get it by hand"


def test_every_dorset_study_path_has_a_source(tmp_path: Path) -> None:
    study = load_study(DORSET_STUDY, data_root=tmp_path)
    paths = src.study_data_paths(study)
    targets = {s.target for s in src.REGISTRY.values()}
    assert [p for p in paths if p not in targets] == []
    assert len(paths) == 19
    assert src.keys_for_study(study) == DORSET_KEYS


def test_unregistered_study_paths_are_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import yaml

    from transport_access.config import study_from_dict

    data = yaml.safe_load(DORSET_STUDY.read_text())
    data["data"]["naptan"] = ["my/own_stops.csv", "dorset/naptan/910Stops.csv"]
    data["data"]["osm"] = "dorset/osm/dorset-latest.osm.pbf"
    study = study_from_dict(data, data_root=tmp_path)
    with caplog.at_level("WARNING", logger="transport_access"):
        keys = src.keys_for_study(study)
    assert "naptan_910" in keys and "osm_dorset" in keys and "naptan_120" not in keys
    assert len(keys) == 17
    assert "my/own_stops.csv: no official source is registered" in caplog.text


def test_issue_sources_are_registered() -> None:
    naptan = {k for k in src.REGISTRY if k.startswith("naptan_")}
    assert naptan == {"naptan_120", "naptan_128", "naptan_129", "naptan_910"}
    assert src.REGISTRY["naptan_129"].resolved_url() == (
        "https://naptan.api.dft.gov.uk/v1/access-nodes?dataFormat=csv&atcoAreaCodes=129"
    )
    assert src.REGISTRY["osm_dorset"].licence.startswith("Open Database Licence")
    assert src.REGISTRY["bods_gtfs_south_west"].url.endswith("/gtfs-file/south_west/")
    for key in ("imd2019_file7", "iod2025_file7", "gias_all", "ods_epraccur", "bres_lsoa"):
        assert key in src.REGISTRY


def test_lsoa_2021_geography_is_registered_like_2011() -> None:
    for key, old_key, fmt in (("lsoa21_centroids", "lsoa11_centroids", "csv"),
                              ("lsoa21_boundaries", "lsoa11_boundaries_dorset", "geojson")):
        source, old = src.REGISTRY[key], src.REGISTRY[old_key]
        assert "December 2021" in source.title and source.format == fmt
        assert source.url.startswith("https://geoportal.statistics.gov.uk/datasets/")
        assert (source.publisher, source.licence) == (old.publisher, old.licence)
        assert source.attribution == old.attribution
        assert "2021" in source.target and source.target.startswith("dorset/lsoa/")
        # No file of these is in the shared data root to take a digest from.
        assert source.sha256 is None
        assert source.access == "page" and "save it under the target name" in source.notes


def test_sources_table_lists_every_source() -> None:
    table = src.sources_table()
    assert list(table.columns) == [
        "key", "title", "publisher", "licence", "access", "format", "target", "url"
    ]
    assert len(table) == len(src.REGISTRY)
    assert table.set_index("key").loc["naptan_120", "target"] == "dorset/naptan/120Stops.csv"
    assert list(src.sources_table(["osm_dorset"]).key) == ["osm_dorset"]


def test_attribution_deduplicates_sentences() -> None:
    text = src.attribution(["naptan_120", "naptan_128", "osm_dorset", "imd2019_file7"])
    assert text == (
        "Contains DfT NaPTAN data. Contains public sector information licensed under the Open "
        "Government Licence v3.0. Map data © OpenStreetMap contributors, available under the "
        "Open Database Licence (ODbL). English Indices of Deprivation 2019, MHCLG."
    )


def test_unknown_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown source 'naptan_999'.*naptan_120"):
        src.fetch(["naptan_999"], data_root=tmp_path)


# --- HTTP ----------------------------------------------------------------------------------


def test_download_over_http_is_byte_identical(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    keys = ["naptan_129", "imd2019_file1", "ods_epraccur"]
    results = src.fetch(keys, data_root=tmp_path, base_url=base_url)

    assert [r.status for r in results] == ["downloaded"] * 3
    for result in results:
        original = shared_data / src.REGISTRY[result.key].target
        assert result.target.read_bytes() == original.read_bytes()
        assert result.sha256 == sha256_of(original)
        assert result.size_bytes == original.stat().st_size
        assert not result.target.with_name(result.target.name + ".part").exists()
    assert len(state["requests"]) == 3
    assert all(rng is None for _, rng in state["requests"])

    manifest = json.loads((tmp_path / src.MANIFEST_NAME).read_text())["files"]
    record = manifest["dorset/naptan/129Stops.csv"]
    assert record["sha256"] == sha256_of(shared_data / "dorset/naptan/129Stops.csv")
    assert record["size_bytes"] == 198687
    assert record["url"] == f"{base_url}/dorset/naptan/129Stops.csv"
    assert record["via"] == "http" and record["retrieved_at"].endswith("+00:00")


def test_second_fetch_is_a_cache_hit_without_requests(data_server, tmp_path: Path) -> None:
    base_url, state = data_server
    src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url)
    assert len(state["requests"]) == 1

    again = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url)
    assert [r.status for r in again] == ["cached"]
    assert again[0].size_bytes == 194152
    assert len(state["requests"]) == 1

    forced = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url, force=True)
    assert [r.status for r in forced] == ["downloaded"]
    assert len(state["requests"]) == 2


def test_changed_target_is_fetched_again(data_server, shared_data: Path, tmp_path: Path) -> None:
    base_url, state = data_server
    (result,) = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url)
    with open(result.target, "ab") as handle:
        handle.write(b"edited by hand\n")

    (again,) = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url)
    assert again.status == "downloaded"
    assert len(state["requests"]) == 2
    assert again.target.read_bytes() == (shared_data / "dorset/naptan/128Stops.csv").read_bytes()


def test_resume_sends_range_and_completes_the_file(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    original = (shared_data / "dorset/naptan/120Stops.csv").read_bytes()
    part = tmp_path / "dorset/naptan/120Stops.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(original[:300_000])

    (result,) = src.fetch(["naptan_120"], data_root=tmp_path, base_url=base_url)

    assert result.status == "downloaded"
    assert state["requests"] == [("/dorset/naptan/120Stops.csv", "bytes=300000-")]
    assert state["bytes_sent"] == len(original) - 300_000 == 521_219
    assert result.target.read_bytes() == original
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    state["ignore_range"] = True
    original = (shared_data / "dorset/naptan/128Stops.csv").read_bytes()
    part = tmp_path / "dorset/naptan/128Stops.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(original[:50_000])

    (result,) = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url)

    assert state["requests"][0][1] == "bytes=50000-"
    assert state["bytes_sent"] == len(original)
    assert result.target.read_bytes() == original


def test_interrupted_transfer_keeps_part_and_resumes(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    state["truncate_at"] = 100_000
    original = (shared_data / "dorset/naptan/910Stops.csv").read_bytes()

    with pytest.raises(DownloadError, match="run the same command again to resume"):
        src.fetch(["naptan_910"], data_root=tmp_path, base_url=base_url)
    part = tmp_path / "dorset/naptan/910Stops.csv.part"
    kept_bytes = part.stat().st_size
    # Whole chunks are kept; the chunk the connection died in is lost.
    assert 0 < kept_bytes <= 100_000
    assert part.read_bytes() == original[:kept_bytes]
    assert not (tmp_path / "dorset/naptan/910Stops.csv").exists()

    (result,) = src.fetch(["naptan_910"], data_root=tmp_path, base_url=base_url)
    assert state["requests"][-1][1] == f"bytes={kept_bytes}-"
    assert result.target.read_bytes() == original


def test_resume_of_a_file_changed_on_the_server_starts_again(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    state["truncate_at"] = 100_000
    original = (shared_data / "dorset/naptan/910Stops.csv").read_bytes()
    with pytest.raises(DownloadError):
        src.fetch(["naptan_910"], data_root=tmp_path, base_url=base_url)
    meta = json.loads((tmp_path / "dorset/naptan/910Stops.csv.part.meta").read_text())
    assert meta["etag"] == f'"v1-{len(original)}"'

    state["etag_version"] = "v2"  # the publisher replaced the file meanwhile
    (result,) = src.fetch(["naptan_910"], data_root=tmp_path, base_url=base_url)
    assert state["if_range"][-1] == f'"v1-{len(original)}"'
    assert state["bytes_sent"] == len(original)
    assert result.target.read_bytes() == original
    assert not (tmp_path / "dorset/naptan/910Stops.csv.part.meta").exists()


def test_partial_file_longer_than_the_server_copy_is_discarded(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    original = (shared_data / "dorset/naptan/129Stops.csv").read_bytes()
    part = tmp_path / "dorset/naptan/129Stops.csv.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(original + b"stale tail")

    (result,) = src.fetch(["naptan_129"], data_root=tmp_path, base_url=base_url)
    assert [rng for _, rng in state["requests"]] == [f"bytes={len(original) + 10}-", None]
    assert result.target.read_bytes() == original


def test_progress_is_logged_by_quarters_off_a_terminal(
    data_server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base_url, _ = data_server
    with caplog.at_level("INFO", logger="transport_access"):
        src.fetch(["naptan_120"], data_root=tmp_path, base_url=base_url)
    quarters = [r.getMessage() for r in caplog.records if "% (" in r.getMessage()]
    assert [q.split(": ")[1].split(" ")[0] for q in quarters] == ["25%", "50%", "75%"]
    assert "naptan_120: downloaded 821,219 bytes" in caplog.text


def test_clear_partial_downloads(tmp_path: Path) -> None:
    (tmp_path / "dorset/osm").mkdir(parents=True)
    (tmp_path / "dorset/osm/dorset-latest.osm.pbf.part").write_bytes(b"x")
    (tmp_path / "dorset/osm/dorset-latest.osm.pbf.part.meta").write_text("{}")
    (tmp_path / "dorset/osm/keep.csv").write_text("x")
    removed = src.clear_partial_downloads(tmp_path)
    assert sorted(p.name for p in removed) == [
        "dorset-latest.osm.pbf.part", "dorset-latest.osm.pbf.part.meta"
    ]
    assert [p.name for p in (tmp_path / "dorset/osm").iterdir()] == ["keep.csv"]


def test_checksum_mismatch_names_file_and_both_digests(data_server, tmp_path: Path) -> None:
    base_url, _ = data_server
    wrong = "0" * 64
    registry = {"naptan_128": dataclasses.replace(src.REGISTRY["naptan_128"], sha256=wrong)}

    with pytest.raises(DownloadError) as caught:
        src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url, registry=registry)

    message = str(caught.value)
    assert "dorset/naptan/128Stops.csv" in message
    assert f"expected SHA-256 {wrong}" in message
    assert "update `sha256`" in message
    assert not (tmp_path / "dorset/naptan/128Stops.csv").exists()
    assert not (tmp_path / "dorset/naptan/128Stops.csv.part").exists()


def test_checksum_mismatch_reports_actual_digest(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, _ = data_server
    registry = {"naptan_128": dataclasses.replace(src.REGISTRY["naptan_128"], sha256="f" * 64)}
    with pytest.raises(DownloadError) as caught:
        src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url, registry=registry)
    assert f"got {sha256_of(shared_data / 'dorset/naptan/128Stops.csv')}" in str(caught.value)


def test_known_checksum_is_accepted_and_makes_a_cache(
    data_server, shared_data: Path, tmp_path: Path
) -> None:
    base_url, state = data_server
    digest = sha256_of(shared_data / "dorset/naptan/128Stops.csv")
    registry = {"naptan_128": dataclasses.replace(src.REGISTRY["naptan_128"], sha256=digest)}
    (result,) = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url, registry=registry)
    assert (result.status, result.sha256) == ("downloaded", digest)

    # A file put in place by hand is accepted when it has the registry's digest.
    (tmp_path / src.MANIFEST_NAME).unlink()
    (again,) = src.fetch(["naptan_128"], data_root=tmp_path, base_url=base_url, registry=registry)
    assert again.status == "cached"
    assert len(state["requests"]) == 1


def test_404_names_the_url_and_suggests_a_mirror(serve, tmp_path: Path) -> None:
    empty = tmp_path / "empty-server"
    empty.mkdir()
    base_url, _ = serve(empty)
    with pytest.raises(DownloadError) as caught:
        src.fetch(["naptan_120"], data_root=tmp_path / "root", base_url=base_url)
    message = str(caught.value)
    assert f"HTTP 404 Not Found for {base_url}/dorset/naptan/120Stops.csv" in message
    assert "--mirror DIR" in message


def test_connection_refused_names_the_url_and_suggests_a_mirror(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    results = src.fetch(
        ["naptan_120"], data_root=tmp_path, base_url=base_url, timeout_s=5, on_error="continue"
    )
    (result,) = results
    assert result.status == "failed"
    assert f"could not connect to {base_url}/dorset/naptan/120Stops.csv" in result.message
    assert "Connection refused" in result.message
    assert "--mirror DIR" in result.message


def test_server_error_on_one_source_does_not_stop_the_others(serve, tmp_path: Path) -> None:
    served = tmp_path / "served" / "dorset" / "naptan"
    served.mkdir(parents=True)
    (served / "120Stops.csv").write_text("ATCOCode,CommonName\n1200A,Stop\n")
    base_url, _ = serve(tmp_path / "served")
    with pytest.raises(DownloadError) as caught:
        src.fetch(["naptan_128", "naptan_120"], data_root=tmp_path / "root", base_url=base_url)
    assert str(caught.value).startswith("1 of 2 sources could not be fetched")
    statuses = [(r.key, r.status) for r in caught.value.results]
    assert statuses == [("naptan_128", "failed"), ("naptan_120", "downloaded")]


def test_official_zip_is_unpacked(serve, tmp_path: Path) -> None:
    published = tmp_path / "publisher"
    published.mkdir()
    csv_bytes = b'"A81001","THE DENSHAM SURGERY"\r\n'
    with zipfile.ZipFile(published / "epraccur.zip", "w") as zf:
        zf.writestr("epraccur.csv", csv_bytes)
        zf.writestr("epraccur.pdf", b"%PDF")
    base_url, state = serve(published)
    registry = {
        "ods_epraccur": dataclasses.replace(
            src.REGISTRY["ods_epraccur"], url=f"{base_url}/epraccur.zip"
        )
    }
    (result,) = src.fetch(["ods_epraccur"], data_root=tmp_path / "root", registry=registry)
    assert result.status == "downloaded"
    assert result.target.read_bytes() == csv_bytes
    assert result.origin == f"{base_url}/epraccur.zip"
    assert sorted(p.name for p in result.target.parent.iterdir()) == ["epraccur.csv"]


def test_official_zip_download_resumes_apart_from_the_target(serve, tmp_path: Path) -> None:
    published = tmp_path / "publisher"
    published.mkdir()
    rows = b"".join(b'"B%05d","BRANCH %d"\r\n' % (i, i) for i in range(20_000))
    with zipfile.ZipFile(published / "ebranchs.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ebranchs.csv", rows)
    archive = (published / "ebranchs.zip").read_bytes()
    base_url, state = serve(published)
    registry = {
        "ods_ebranchs": dataclasses.replace(
            src.REGISTRY["ods_ebranchs"], url=f"{base_url}/ebranchs.zip"
        )
    }
    root = tmp_path / "root"
    part = root / "dorset/gp/ebranchs.csv.download.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(archive[:1000])

    (result,) = src.fetch(["ods_ebranchs"], data_root=root, registry=registry)
    assert state["requests"] == [("/ebranchs.zip", "bytes=1000-")]
    assert result.target.read_bytes() == rows
    assert not part.exists()


def test_corrupt_official_zip_is_discarded(serve, tmp_path: Path) -> None:
    published = tmp_path / "publisher"
    published.mkdir()
    (published / "epraccur.zip").write_text("<html>Service unavailable</html>")
    base_url, _ = serve(published)
    registry = {
        "ods_epraccur": dataclasses.replace(
            src.REGISTRY["ods_epraccur"], url=f"{base_url}/epraccur.zip"
        )
    }
    root = tmp_path / "root"
    with pytest.raises(DownloadError, match="epraccur.csv.download.part is not a zip file"):
        src.fetch(["ods_epraccur"], data_root=root, registry=registry)
    assert list((root / "dorset/gp").iterdir()) == []


def test_sources_without_a_file_url_refuse_with_instructions(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        src.fetch(["imd2019_file1"], data_root=tmp_path)
    message = str(caught.value)
    assert "imd2019_file1: cannot be fetched automatically" in message
    assert "--mirror DIR" in message and "File_1_-_IMD2019" in message


def test_folder_target_over_http_asks_for_a_mirror(data_server, tmp_path: Path) -> None:
    base_url, state = data_server
    with pytest.raises(DownloadError, match="dorset/tnds is a folder.*--mirror DIR"):
        src.fetch(["tnds_south_west"], data_root=tmp_path, base_url=base_url)
    assert state["requests"] == []


# --- mirror --------------------------------------------------------------------------------


def test_mirror_copies_every_dorset_file_then_caches(shared_data: Path, tmp_path: Path) -> None:
    results = src.fetch(DORSET_KEYS, data_root=tmp_path, mirror=shared_data)
    assert [r.status for r in results] == ["copied"] * len(DORSET_KEYS)
    for result in results:
        original = shared_data / src.REGISTRY[result.key].target
        if original.is_dir():
            names = sorted(p.name for p in original.iterdir())
            assert sorted(p.name for p in result.target.iterdir()) == names
            for name in names:
                assert (result.target / name).read_bytes() == (original / name).read_bytes()
        else:
            assert result.target.read_bytes() == original.read_bytes()
    tnds = next(r for r in results if r.key == "tnds_south_west")
    assert tnds.size_bytes == 7_653_338

    again = src.fetch(DORSET_KEYS, data_root=tmp_path, mirror=shared_data)
    assert {r.status for r in again} == {"cached"}

    # Copies are writable even though the shared files are read-only.
    (tmp_path / "dorset/tnds/swe_42-1X-_-y10-1.xml").write_text("edited")
    (redo,) = src.fetch(["tnds_south_west"], data_root=tmp_path, mirror=shared_data)
    assert redo.status == "copied" and redo.size_bytes == 7_653_338


def test_mirror_found_by_file_name_and_publisher_zip(tmp_path: Path) -> None:
    mirror = tmp_path / "downloads"
    mirror.mkdir()
    (mirror / "129Stops.csv").write_text("ATCOCode\n1290A\n")
    with zipfile.ZipFile(mirror / "ebranchs.zip", "w") as zf:
        zf.writestr("ebranchs.csv", "B81001,BRANCH\n")

    results = src.fetch(["naptan_129", "ods_ebranchs"], data_root=tmp_path / "root", mirror=mirror)
    assert [r.status for r in results] == ["copied", "copied"]
    assert results[0].target.read_text() == "ATCOCode\n1290A\n"
    assert results[1].target.read_text() == "B81001,BRANCH\n"
    assert results[1].origin == str(mirror / "ebranchs.zip")


def test_mirror_missing_file_names_the_expected_path(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with pytest.raises(DownloadError) as caught:
        src.fetch(["osm_dorset"], data_root=tmp_path / "root", mirror=mirror)
    message = str(caught.value)
    assert f"has no {mirror / 'dorset/osm/dorset-latest.osm.pbf'}" in message
    assert "dorset-latest.osm.pbf" in message


def test_missing_mirror_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="mirror folder does not exist"):
        src.fetch(["osm_dorset"], data_root=tmp_path, mirror=tmp_path / "nowhere")


def test_results_table(shared_data: Path, tmp_path: Path) -> None:
    results = src.fetch(["naptan_129"], data_root=tmp_path, mirror=shared_data)
    table = src.results_table(results)
    assert list(table.columns) == [
        "key", "status", "size_bytes", "target", "sha256", "origin", "message"
    ]
    assert table.iloc[0].to_dict()["size_bytes"] == 198687
    assert table.iloc[0]["status"] == "copied"


def test_progress_bar_on_a_terminal(
    data_server, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    base_url, _ = data_server
    (result,) = src.fetch(["naptan_129"], data_root=tmp_path, base_url=base_url)
    assert result.target.read_bytes() == (shared_data / "dorset/naptan/129Stops.csv").read_bytes()


def test_importing_sources_stays_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, transport_access.sources as s; "
        "print(sorted(m for m in ('requests', 'pandas', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=PROJECT_ROOT,
    )
    assert out.stdout.strip() == "[]"
