"""Where the server lives and who may reach it: the private folder, the build identity, peer credentials."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import pytest

from codelens.server import place as place_module
from codelens.server.place import (
    SOCKET_PATH_MAX,
    ServerError,
    ServerPlace,
    build_identity,
    candidate_folders,
    default_folder,
    folder_stamp,
    peer_uid,
    private_folder,
    server_place,
)


def test_the_folder_is_created_private_and_named_files_carry_the_build(tmp_path):
    place = server_place(build="ab" * 32, folder=tmp_path / "deep" / "codelens")
    assert stat.S_IMODE(os.lstat(place.folder).st_mode) == 0o700
    assert place.socket.name == "server-abababababababab.sock"
    assert place.lock.name == "server-abababababababab.lock" and place.log.name == "server-abababababababab.log"


def test_a_folder_open_to_others_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(ServerError, match="open to other users") as caught:
        private_folder(folder)
    assert caught.value.hint == f"make it private with `chmod 700 {folder}`"


def test_a_link_or_a_file_in_the_folders_place_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ServerError, match="is not a folder"):
        private_folder(tmp_path / "link")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ServerError):
        private_folder(tmp_path / "file")


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder another user's takes root")
def test_a_folder_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(ServerError, match="belongs to another user"):
        private_folder(folder)


def test_the_runtime_folder_comes_first_then_the_users_codelens_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("CODELENS_CACHE_HOME", str(tmp_path / "home"))
    assert candidate_folders() == [tmp_path / "codelens", tmp_path / "home" / "server",
                                   Path(f"/tmp/codelens-{os.getuid()}")]
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/run")  # not a folder the system made: not used
    assert candidate_folders()[0] == tmp_path / "home" / "server"


def test_a_socket_path_too_long_for_unix_sockets_moves_to_the_next_folder(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    monkeypatch.setenv("CODELENS_CACHE_HOME", str(tmp_path / "home"))
    folder = default_folder("0" * 64)
    assert folder == tmp_path / "home" / "server"
    assert len(os.fsencode(ServerPlace(folder, "0" * 64).socket)) <= SOCKET_PATH_MAX
    assert not folder.exists()  # finding the place creates nothing


def test_the_build_identity_is_stable_and_names_the_environment(monkeypatch):
    first = build_identity()
    assert build_identity() == first and len(first) == 64
    monkeypatch.setattr(sys, "prefix", "/another/venv")
    assert build_identity() != first  # another environment (another torch) is another build


def test_the_build_identity_follows_the_package_contents(tmp_path, monkeypatch):
    package = tmp_path / "codelens"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    fake = type(sys)("codelens")
    fake.__file__ = str(package / "__init__.py")
    monkeypatch.setitem(sys.modules, "codelens", fake)
    before = build_identity()
    os.utime(package / "__init__.py", (1, 1))  # touched, same contents: the same build
    assert build_identity() == before
    (package / "__init__.py").write_text("x = 2\n")
    assert build_identity() != before


def test_peer_uid_reads_the_kernels_answer():
    left, right = socket.socketpair(socket.AF_UNIX)
    try:
        assert peer_uid(left) == os.getuid() == peer_uid(right)
    finally:
        left.close()
        right.close()


def test_a_base_folder_rebuilt_in_place_gets_another_stamp(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    first = folder_stamp(str(tmp_path))
    assert first == folder_stamp(str(tmp_path)) and len(first) == 16
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert folder_stamp(str(tmp_path)) != first
    assert folder_stamp("Qwen/Qwen2.5-Coder-0.5B") == ""  # a hub id: nothing on disk to stamp


def test_without_peer_credentials_the_server_is_not_offered(monkeypatch):
    monkeypatch.delattr(socket, "SO_PEERCRED")
    monkeypatch.setattr(place_module.sys, "platform", "darwin")
    with pytest.raises(ServerError, match="needs Unix sockets with peer credentials") as caught:
        server_place(build="0" * 64)
    assert "--server off" in caught.value.hint
