"""The ``transport-access`` command: parses arguments and calls library functions.

Every command here is a thin wrapper; notebooks call the same functions. Errors about the
user's input (:class:`transport_access.errors.TransportAccessError`) are shown as a short
message and exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Public transport accessibility for rural England: data, networks, travel times, "
    "deprivation and community transport scenarios.",
)

ConfigArg = Annotated[Path, typer.Argument(help="study file (YAML), e.g. configs/dorset.yaml")]
DataRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-root",
        help="folder the study file's data paths are relative to "
        "(default: $TRANSPORT_ACCESS_DATA, else the study file's folder)",
    ),
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="more logging")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="warnings only")]
WindowOpt = Annotated[
    str | None, typer.Option("--window", help="departure window name (default: the first)")
]
WindowMinOpt = Annotated[
    int | None, typer.Option("--window-min", help="only the first N minutes (quick runs)")
]
ModesOpt = Annotated[str, typer.Option("--modes", help="comma-separated: transit,walk,cycle,car")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler",
                 help="run on a Dask cluster: a scheduler address (tcp://host:8786) or "
                      "local:N for N worker processes here"),
]
ChunkOpt = Annotated[
    int | None,
    typer.Option("--chunk-origins", help="with --scheduler: origins per task "
                 "(default: about 8 chunks per worker)"),
]


def _setup(verbose: int = 0, quiet: bool = False) -> None:
    from transport_access._log import configure_logging

    configure_logging(-1 if quiet else verbose)


def _print_table(frame, title: str) -> None:  # noqa: ANN001 - pandas is imported lazily
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        justify = "right" if frame[column].dtype.kind in "iuf" else "left"
        table.add_column(str(column), justify=justify, overflow="fold")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("" if value != value else f"{value:,.1f}")
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    Console(width=160).print(table)


@app.command()
def sources() -> None:
    """List the official data sources: what, where from, licence."""
    from transport_access.sources import sources_table

    _print_table(sources_table(), "Official data sources")


@app.command()
def fetch(
    config: Annotated[
        Path | None, typer.Option("--config", help="fetch what this study file needs")
    ] = None,
    data_root: DataRootOpt = None,
    mirror: Annotated[
        Path | None, typer.Option("--mirror", help="take the files from this local folder")
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="comma-separated source keys (see `sources`)")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="an HTTP mirror laid out like the data root")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="download again even if cached")] = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Download the official source files (cached, checksummed, resumable)."""
    _setup(verbose, quiet)
    from transport_access import sources as src

    keys = [k.strip() for k in only.split(",")] if only else None
    root = data_root
    if config is not None:
        from transport_access.config import load_study

        study = load_study(config, data_root=data_root)
        root = study.data_root
        if keys is None:
            keys = src.keys_for_study(study)
    if root is None:
        raise typer.BadParameter("give --data-root (or --config with a data root)")
    results = src.fetch(
        keys, data_root=root, mirror=mirror, base_url=base_url, force=force, on_error="continue"
    )
    _print_table(src.results_table(results), f"Fetched into {root}")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        for result in failed:
            typer.secho(f"failed: {result.key}: {result.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)


@app.command("data-report")
def data_report(
    config: ConfigArg,
    data_root: DataRootOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the report CSV here")] = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Load and check every dataset of a study, and print what was kept and excluded."""
    _setup(verbose, quiet)
    from transport_access.config import load_study
    from transport_access.study_data import load_study_data

    study = load_study(config, data_root=data_root)
    data = load_study_data(study)
    if out is not None:
        data.report.write_csv(out)
    _print_table(data.report.to_frame(), f"Data report: {study.area.name}")


@app.command()
def demo(
    config: ConfigArg = Path("configs/dorset.yaml"),
    data_root: DataRootOpt = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("outputs/demo"),
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Run the study end to end and write its outputs (the `make demo` job)."""
    _setup(verbose, quiet)
    from transport_access.demo import run_demo

    result = run_demo(config, data_root=data_root, out=out)
    _print_table(result.report.to_frame(), f"Data report: {result.study.area.name}")
    if result.access is not None:
        _print_table(
            _quintile_summary(result.access),
            "Mean minutes to the nearest, by IMD quintile (Q1 = most deprived), 07:00-10:00",
        )
    scores = [p for p in result.outputs if p.name == "scenario_scores.csv"]
    if scores:
        _print_scores(scores[0])
    typer.echo(f"Outputs written to {out}/")
    for path in result.outputs:
        typer.echo(f"  {path}")


@app.command()
def access(
    config: ConfigArg,
    data_root: DataRootOpt = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("outputs/access"),
    modes: Annotated[str | None, typer.Option(
        "--modes", help="comma-separated: transit,walk,cycle,car (default: the study's "
                        "modes.include)")] = None,
    window: WindowOpt = None,
    window_min: WindowMinOpt = None,
    rural_urban: Annotated[
        Path | None, typer.Option("--rural-urban", help="ONS Rural Urban Classification CSV")
    ] = None,
    scheduler: SchedulerOpt = None,
    chunk_origins: ChunkOpt = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Accessibility of every neighbourhood of a study, with the deprivation breakdown."""
    _setup(verbose, quiet)
    from transport_access.access.run import run_access, write_access_outputs
    from transport_access.config import load_study
    from transport_access.study_data import load_study_data

    data = load_study_data(load_study(config, data_root=data_root))
    result = run_access(
        data, modes=[m.strip() for m in modes.split(",") if m.strip()] if modes else None,
        window=window,
        window_min=window_min, rural_urban_file=rural_urban, scheduler=scheduler,
        chunk_origins=chunk_origins,
    )
    written = write_access_outputs(result, out)
    _print_table(
        _quintile_summary(result), "Mean minutes to the nearest, by IMD quintile (Q1 most deprived)"
    )
    for path in written.values():
        typer.echo(f"  {path}")


def _quintile_summary(result):  # noqa: ANN001, ANN202 - AccessResult, DataFrame
    """Nearest-destination minutes by IMD quintile, one row per destination and mode."""
    table = result.equity.get("by_imd_quintile")
    if table is None or table.empty:
        return result.long.head(0)
    table = table[table["measure"] == "nearest_p50_min"]
    wide = table.pivot_table(index=["destination", "mode"], columns="imd_quintile", values="mean")
    wide.columns = [f"Q{int(c)}" for c in wide.columns]
    return wide.reset_index()


@app.command()
def scenarios(
    config: ConfigArg,
    data_root: DataRootOpt = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("outputs/scenarios"),
    window_min: WindowMinOpt = None,
    scheduler: SchedulerOpt = None,
    chunk_origins: ChunkOpt = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Score every scenario of a study against the baseline, ranked."""
    _setup(verbose, quiet)
    from transport_access.config import load_study
    from transport_access.scenarios.run import run_scenarios, write_scenario_outputs
    from transport_access.study_data import load_study_data

    data = load_study_data(load_study(config, data_root=data_root))
    run = run_scenarios(data, window_min=window_min, scheduler=scheduler,
                        chunk_origins=chunk_origins)
    written = write_scenario_outputs(run, out)
    _print_scores(written["scores"])
    for path in written.values():
        typer.echo(f"  {path}")


@app.command()
def isochrones(
    config: ConfigArg,
    data_root: DataRootOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="output folder")
    ] = Path("outputs/isochrones"),
    destinations: Annotated[
        str, typer.Option("--destinations", help="comma-separated destination sets of the study")
    ] = "secondary,post16",
    modes: ModesOpt = "transit,walk",
    thresholds: Annotated[
        str, typer.Option("--thresholds", help="minutes, comma-separated")
    ] = "15,30,45,60",
    window: WindowOpt = None,
    window_min: WindowMinOpt = None,
    workers: Annotated[int, typer.Option("--workers", help="processes building polygons")] = 2,
    force: Annotated[
        bool, typer.Option("--force", help="recompute outputs that are up to date")
    ] = False,
    scheduler: SchedulerOpt = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Isochrones of a study's destinations (GeoPackage and GeoJSON), skipping those up to date."""
    _setup(verbose, quiet)
    from transport_access.config import load_study
    from transport_access.publish.isochrones import run_isochrones

    try:
        minutes = [float(t) for t in thresholds.split(",") if t.strip()]
    except ValueError:
        raise typer.BadParameter(f"--thresholds {thresholds!r}: give minutes such as "
                                 "15,30,45,60") from None
    written = run_isochrones(
        load_study(config, data_root=data_root),
        destination_sets=[d.strip() for d in destinations.split(",") if d.strip()],
        modes=[m.strip() for m in modes.split(",") if m.strip()], out_dir=out,
        thresholds_min=minutes, window=window, window_min=window_min, workers=workers,
        force=force, scheduler=scheduler,
    )
    typer.echo(f"{len(written)} isochrone files in {out}/")
    for path in written:
        typer.echo(f"  {path}")


def _print_scores(path: Path) -> None:
    import pandas as pd

    scores = pd.read_csv(path)
    headings = {
        "rank": "rank", "scenario": "scenario", "rank_group": "group",
        "cost_per_day_gbp": "cost GBP/day",
        "residents_gaining": "residents gaining access",
        "deciles_1_2_gaining": "of them in IMD deciles 1-2",
        "residents_losing": "residents losing access",
        "residents_losing_any_threshold": "residents worse off (any threshold)",
        "mean_change_min": "mean change, min",
        "cost_per_resident_gaining_gbp_day": "GBP/day per resident gaining",
    }
    keep = [c for c in headings if c in scores.columns]
    _print_table(scores[keep].rename(columns=headings),
                 "Scenarios, ranked (access = within each destination's main threshold)")


@app.command("compare-jts")
def compare_jts_command(
    jts: Annotated[Path, typer.Option("--jts", help="DfT JTS LSOA table (CSV)")],
    access_table: Annotated[
        Path, typer.Option("--access", help="our access_lsoa.parquet or .csv")
    ] = Path("outputs/access/access_lsoa.parquet"),
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("outputs/access"),
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Compare our nearest-destination times with DfT Journey Time Statistics."""
    _setup(verbose, quiet)
    import pandas as pd

    from transport_access.access.jts import compare_jts, write_jts_comparison
    from transport_access.errors import MissingFileError

    if not access_table.exists():
        raise MissingFileError(
            access_table, "access table does not exist.", "Run `transport-access access` first."
        )
    ours = (pd.read_parquet(access_table) if access_table.suffix == ".parquet"
            else pd.read_csv(access_table))
    summary, per_lsoa = compare_jts(ours, jts)
    write_jts_comparison(summary, per_lsoa, out)
    _print_table(summary, "Ours minus JTS, minutes to the nearest destination")


@app.command()
def matrix(
    origins: Annotated[Path, typer.Option("--origins", help="CSV with id,lon,lat")],
    destinations: Annotated[Path, typer.Option("--destinations", help="CSV with id,lon,lat")],
    out: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.parquet")],
    gtfs: Annotated[
        list[Path] | None, typer.Option("--gtfs", help="GTFS feed (zip or folder); repeatable")
    ] = None,
    osm: Annotated[Path | None, typer.Option("--osm", help="OpenStreetMap .osm.pbf")] = None,
    no_streets: Annotated[
        bool, typer.Option("--no-streets", help="straight lines x circuity instead of streets")
    ] = False,
    date: Annotated[str | None, typer.Option("--date", help="service day YYYY-MM-DD")] = None,
    departure: Annotated[str, typer.Option("--departure", help="window start HH:MM")] = "07:00",
    window: Annotated[int, typer.Option("--window", help="departure minutes in the window")] = 60,
    modes: Annotated[
        str, typer.Option("--modes", help="walk,transit | walk | cycle | car")
    ] = "walk,transit",
    percentiles: Annotated[str, typer.Option("--percentiles", help="e.g. 50,90")] = "50",
    expanded: Annotated[
        bool, typer.Option("--expanded", help="one row per departure minute")
    ] = False,
    arrive_by: Annotated[
        str | None,
        typer.Option("--arrive-by", help="latest departure arriving by HH:MM (walk,transit)"),
    ] = None,
    max_walk_min: Annotated[float, typer.Option("--max-walk-min")] = 20.0,
    walk_speed_kmh: Annotated[float, typer.Option("--walk-speed-kmh")] = 4.8,
    cycle_speed_kmh: Annotated[float, typer.Option("--cycle-speed-kmh")] = 16.0,
    max_rides: Annotated[int, typer.Option("--max-rides")] = 4,
    board_slack_s: Annotated[int, typer.Option("--board-slack-s")] = 60,
    max_time_min: Annotated[float, typer.Option("--max-time-min")] = 120.0,
    circuity: Annotated[float, typer.Option("--circuity")] = 1.3,
    engine: Annotated[str, typer.Option("--engine", help="embedded | r5")] = "embedded",
    r5_classpath: Annotated[
        str | None, typer.Option("--r5-classpath", help="R5 jar for --engine r5")
    ] = None,
    scheduler: SchedulerOpt = None,
    chunk_origins: ChunkOpt = None,
    network_transfer: Annotated[
        str,
        typer.Option("--network-transfer",
                     help="with --scheduler: scatter (send the network to each worker) or "
                          "paths (workers build it from the same files: shared storage)"),
    ] = "scatter",
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Travel-time matrix between two point sets (CSV or Parquet out).

    With --scheduler the origins are routed in chunks on a Dask cluster and a .parquet
    --out is a folder of parts (one per chunk) that pandas and Power BI read as one table.
    """
    _setup(verbose, quiet)
    from transport_access.routing import api

    if osm is not None and no_streets:
        raise typer.BadParameter("give either --osm or --no-streets, not both")
    if osm is None and not no_streets:
        raise typer.BadParameter("give --osm PBF for street routing, or --no-streets")
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise typer.BadParameter(f"--out must end in .csv or .parquet, got {out.name}")
    if engine not in ("embedded", "r5"):
        raise typer.BadParameter(f"--engine {engine!r}: embedded or r5")
    unsupported = [name for name, given in (("--expanded", expanded),
                                            ("--arrive-by", arrive_by is not None)) if given]
    if engine == "r5" and unsupported:
        raise typer.BadParameter(
            f"--engine r5 does not support {' or '.join(unsupported)} (the R5 path gives "
            "percentiles over the departure window only); use --engine embedded")
    if r5_classpath:
        import os

        os.environ["TRANSPORT_ACCESS_R5_CLASSPATH"] = r5_classpath
    if network_transfer not in ("scatter", "paths"):
        raise typer.BadParameter(f"--network-transfer {network_transfer!r}: scatter or paths")
    try:
        percentile_list = [int(p) for p in percentiles.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(f"--percentiles {percentiles!r}: give whole numbers such as "
                                 "50,90") from None
    mode_list = [m for m in modes.split(",") if m.strip()]
    street_modes = sorted({"walk"} | {m for m in mode_list if m in api.STREET_MODES})
    network = api.build_transport_network(osm=osm, gtfs=gtfs or [], street_modes=street_modes)
    points_o = api.read_points(origins, what="origins")
    points_d = api.read_points(destinations, what="destinations")
    params = dict(
        max_walk_min=max_walk_min, walk_speed_kmh=walk_speed_kmh,
        cycle_speed_kmh=cycle_speed_kmh, max_rides=max_rides, board_slack_s=board_slack_s,
        max_time_min=max_time_min, circuity=circuity,
    )
    window_options = {"modes": mode_list, "date": date, "departure": departure,
                      "window_min": window, **params}
    if arrive_by is not None:
        kind, options = "arrive_by", {"date": date, "arrive_by": arrive_by, **params}
    elif expanded:
        kind, options = "expanded", window_options
    else:
        kind, options = "percentiles", {**window_options, "percentiles": percentile_list,
                                        "engine": engine}
    inputs = {"origins": origins, "destinations": destinations, "osm": osm,
              "gtfs": list(gtfs or [])}
    if scheduler is not None:
        _distributed_matrix(network, points_o, points_d, out=out, scheduler=scheduler,
                            chunk_origins=chunk_origins, by_paths=network_transfer == "paths",
                            street_modes=street_modes, kind=kind, options=options)
        _write_matrix_metadata(out, kind=kind, options=options, inputs=inputs,
                               street_model=network.street_model)
        return
    from transport_access.cluster import matrix_function

    table = matrix_function(kind)(network, points_o, points_d, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    _write_matrix_metadata(out, kind=kind, options=options, inputs=inputs,
                           street_model=network.street_model)
    typer.echo(f"{len(table):,} rows written to {out} (streets: {network.street_model})")


def _write_matrix_metadata(out: Path, *, kind: str, options: dict, inputs: dict,
                           street_model: str) -> Path:
    """``FILE.json`` beside a matrix file or folder of parts: what was routed, on which
    streets (or the straight-line fallback), from which inputs."""
    import json

    from transport_access import __version__
    from transport_access._cache import file_sha256

    def described(path: Path | None) -> dict | None:
        return None if path is None else {"path": str(path), "sha256": file_sha256(path)}

    meta = {
        "software": f"transport-access {__version__}",
        "kind": kind,
        "street_model": street_model,
        "straight_line_streets": "straight" in street_model.lower(),
        "options": options,
        "inputs": {k: ([described(p) for p in v] if isinstance(v, list) else described(v))
                   for k, v in inputs.items()},
    }
    path = out.with_name(out.name + ".json")
    path.write_text(json.dumps(meta, indent=2, default=str))
    return path


def _distributed_matrix(network, points_o, points_d, *, out: Path, scheduler: str,  # noqa: ANN001
                        chunk_origins: int | None, by_paths: bool, street_modes: list[str],
                        kind: str, options: dict) -> None:
    import shutil

    from transport_access.cluster import NetworkPaths, distributed_matrix

    shipped = network
    if by_paths:
        shipped = NetworkPaths(osm=network.osm_path, gtfs=tuple(network.gtfs_paths),
                               street_modes=tuple(street_modes))
    as_csv = out.suffix.lower() == ".csv"
    folder = out.with_name(out.name + ".parts") if as_csv else out
    parts = distributed_matrix(shipped, points_o, points_d, out=folder, scheduler=scheduler,
                               kind=kind, chunk_origins=chunk_origins, **options)
    if as_csv:
        import pandas as pd

        # Part by part, in origin order: the whole matrix is never in memory.
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="") as handle:
            for i, part in enumerate(parts.parts):
                pd.read_parquet(part).to_csv(handle, index=False, header=i == 0)
        shutil.rmtree(folder)
        typer.echo(f"{parts.rows:,} rows written to {out} ({len(parts.parts)} chunks; "
                   f"streets: {network.street_model})")
        return
    typer.echo(f"{parts.rows:,} rows written to {out}/ in {len(parts.parts)} parts "
               f"(streets: {network.street_model})")


@app.command("rail-gtfs")
def rail_gtfs(
    cif: Annotated[Path, typer.Argument(help="ATOC CIF timetable: zip, folder or .mca")],
    out: Annotated[Path, typer.Option("--out", help="GTFS zip to write")],
    area: Annotated[
        Path | None, typer.Option("--area", help="study file whose area clips the journeys")
    ] = None,
    data_root: DataRootOpt = None,
    stations: Annotated[
        Path | None, typer.Option("--stations", help="NaPTAN rail stations (910Stops.csv)")
    ] = None,
    tiplocs: Annotated[
        Path | None, typer.Option("--tiplocs", help="TIPLOC points (GeoPackage)")
    ] = None,
    buffer_km: Annotated[
        float, typer.Option("--buffer-km", help="calls kept this far outside the area")
    ] = 30.0,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Convert a National Rail CIF timetable to GTFS, optionally clipped to a study area."""
    _setup(verbose, quiet)
    from transport_access.load.cif import convert_cif, write_gtfs_zip
    from transport_access.report import DataReport

    polygon = None
    if area is not None:
        from transport_access.config import load_study
        from transport_access.study_data import load_study_area

        polygon = load_study_area(load_study(area, data_root=data_root))
    report = DataReport()
    feed = convert_cif(
        cif, naptan_rail=stations, tiplocs=tiplocs, area=polygon, buffer_km=buffer_km,
        report=report,
    )
    path = write_gtfs_zip(feed, out)
    _print_table(report.to_frame(), "Rail conversion")
    typer.echo(f"{len(feed.trips):,} trips, {len(feed.stops):,} stops written to {path}")


def main() -> None:
    """Entry point of the ``transport-access`` command."""
    from transport_access.errors import TransportAccessError

    try:
        app()
    except TransportAccessError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
