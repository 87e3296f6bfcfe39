"""crds/trainingjob.yaml and the chart's CRD template are exactly what `make crds` writes."""

import yaml

from wattcast.crd import generate


def test_checked_in_crd_files_match_the_models() -> None:
    for path, expected in generate.outputs().items():
        assert path.exists(), f"{path} is missing: run `make crds`"
        assert path.read_text() == expected, f"{path} is out of date: run `make crds`"


def test_check_mode_reports_drift(tmp_path) -> None:
    assert generate.main(["--root", str(tmp_path)]) == 0  # writes everything
    assert generate.main(["--root", str(tmp_path), "--check"]) == 0
    crd_file = tmp_path / generate.CRD_FILE
    crd_file.write_text(crd_file.read_text().replace("maxLength: 128", "maxLength: 129"))
    assert generate.main(["--root", str(tmp_path), "--check"]) == 1


def test_generated_file_is_the_crd_dict() -> None:
    path = generate.REPO_ROOT / generate.CRD_FILE
    assert yaml.safe_load(path.read_text()) == generate.crd()
