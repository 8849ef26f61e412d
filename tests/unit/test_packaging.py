"""The collection tarball: what `ansible-galaxy collection build` puts in it.

The tarball is for users: the content they run (plugins, roles, playbooks, meta) and what they read (README,
docs, changelog, the example inventory). Development tooling stays in the repository.

ansible-galaxy does not read .gitignore: a git-ignored output lying in the checkout (an overhead report written
beside playbooks/, the venv in .work/, a previous tarball) goes into the tarball unless galaxy.yml's build_ignore
names it. So the build runs on a copy of the tracked files plus one decoy file for every .gitignore pattern.
"""

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# Everything a user gets at the top of the tarball, and nothing more.
EXPECTED_TOP_LEVEL = {
    'CHANGELOG.md', 'COPYING', 'FILES.json', 'MANIFEST.json', 'README.md',
    'changelogs', 'docs', 'inventories', 'meta', 'playbooks', 'plugins', 'roles',
}

# Development-only paths (and their contents) that must never ship, named here even where the top-level
# check above would already catch them, so a failure says what leaked.
FORBIDDEN = (
    '.ansible-lint', '.ci', '.gitignore', '.work', '.yamllint', 'Makefile', 'ansible.cfg', 'bench', 'hack',
    'molecule', 'pyproject.toml', 'requirements-dev.txt', 'site.yml', 'tests', 'changelogs/fragments',
    'changelogs/.plugin-cache.yaml', 'inventories/local', 'playbooks/overhead-report', 'docs/topology.py',
)


def _tracked_files():
    out = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO, check=True, capture_output=True).stdout
    return [name for name in out.decode().split('\0') if name and (REPO / name).is_file()]


def _decoy_paths():
    """One file per .gitignore pattern, where that pattern would match it."""
    decoys = []
    for line in (REPO / '.gitignore').read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith(('#', '!')):
            continue
        anchored = pattern.startswith('/')
        path = pattern.strip('/').replace('*', 'decoy')
        if pattern.endswith('/'):
            path += '/decoy.json'
        # An unanchored pattern matches at any depth: put its decoy somewhere that ships.
        decoys.append(path if anchored else 'plugins/modules/' + path)
    return decoys


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    tree = tmp_path_factory.mktemp('src') / 'ansible_collections' / 'nestedkvm' / 'stack'
    for name in _tracked_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tree / name)
    decoys = _decoy_paths()
    assert 'playbooks/overhead-report/decoy.json' in decoys
    for name in decoys:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text('{}\n')
    out_dir = tmp_path_factory.mktemp('build')
    subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(out_dir), str(tree)],
                   check=True, capture_output=True)
    [built] = out_dir.glob('nestedkvm-stack-*.tar.gz')
    with tarfile.open(built) as archive:
        members = archive.getmembers()
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    return {'names': [member.name.rstrip('/') for member in members],
            'files': {member.name for member in members if member.isfile()} - {'MANIFEST.json', 'FILES.json'},
            'manifest': manifest}


def test_top_level_entries_are_what_users_need(tarball):
    top = {name.split('/')[0] for name in tarball['names']}
    assert top == EXPECTED_TOP_LEVEL


@pytest.mark.parametrize('forbidden', FORBIDDEN)
def test_development_files_do_not_ship(tarball, forbidden):
    leaked = [name for name in tarball['names'] if name == forbidden or name.startswith(forbidden + '/')]
    assert leaked == []


def test_git_ignored_outputs_do_not_ship(tarball):
    assert [name for name in tarball['names'] if 'decoy' in name] == []


def test_every_shipped_file_is_tracked(tarball):
    assert tarball['files'] - set(_tracked_files()) == set()


def test_what_users_run_and_read_ships(tarball):
    names = set(tarball['names'])
    for needed in ('meta/runtime.yml', 'playbooks/site.yml', 'playbooks/teardown.yml', 'plugins/modules/l1_domain.py',
                   'roles/l0_host/meta/argument_specs.yml', 'inventories/example/hosts.yml', 'CHANGELOG.md', 'docs/topology.svg',
                   'changelogs/changelog.yaml'):
        assert needed in names


def test_manifest_has_no_placeholder_urls(tarball):
    info = tarball['manifest']['collection_info']
    urls = {key: info.get(key) for key in ('repository', 'documentation', 'homepage', 'issues')}
    assert not any('example' in (value or '') or 'invalid' in (value or '') for value in urls.values()), urls


def test_its_documentation_link_works_for_someone_holding_only_the_tarball(tarball):
    """The project has no public home: no repository, homepage or issue tracker is named, and the documentation is
    the README inside the tarball (which says how to report a problem)."""
    info = tarball['manifest']['collection_info']
    assert (info['repository'], info['homepage'], info['issues']) == (None, None, None)
    assert info['documentation'] in tarball['files']
    assert 'no public repository or issue tracker' in (REPO / info['documentation']).read_text()


def test_roles_claim_the_ansible_versions_runtime_yml_states():
    requires = yaml.safe_load((REPO / 'meta' / 'runtime.yml').read_text())['requires_ansible']
    assert requires == '>=2.19.0,<2.20.0'  # the only ansible-core tested (requirements-dev.txt pins 2.19)
    assert 'ansible-core==2.19.' in (REPO / 'requirements-dev.txt').read_text()
    for meta in sorted(REPO.glob('roles/*/meta/main.yml')):
        assert yaml.safe_load(meta.read_text())['galaxy_info']['min_ansible_version'] == '2.19', meta
