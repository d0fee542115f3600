"""The adversarial corpus: submissions of the tiny assignment, each with the score it must get.

Every attack pairs a WRONG double() (it adds 1) with a trick that would make the
test pass under stock nbgrader, or crashes the kernel; square() is always right,
so `score` 1 means "the trick bought nothing and nothing else was lost". `flag`
is a regex one of the submission's review flags must match (None: no flags at all; "any": not checked,
e.g. a fork bomb may or may not also run into the cell time limit on a loaded machine).
"""
import copy
import json
import os
import uuid

import nbformat

from . import tiny_course as tc

SQ_OK = "def square(x):\n    return np.asarray(x, dtype=float) ** 2\n"
DB_OK = "def double(x):\n    return np.asarray(x, dtype=float) * 2\n"
DB_WRONG = "def double(x):\n    return np.asarray(x, dtype=float) + 1\n"


def fill(release, **answers):
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def strip_metadata(nb):
    for cell in nb.cells:
        cell.metadata = {}
        cell["id"] = uuid.uuid4().hex[:8]
    return nb


def _cases(course):
    r = tc.release_notebook(course)
    secret_paths = [str(course.source / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb"),
                    str(tc.REPO / "solutions" / "01_types" / "types_of_embeddings.ipynb")]
    db_path = course.db_url.replace("sqlite:///", "")
    pwned = str(course.work / "pwned.txt")

    def attack(code, double=DB_WRONG):
        return fill(r, square=SQ_OK, double=double + code)

    cases = {}

    # -- honest submissions ---------------------------------------------------------------------------
    cases["solution"] = (fill(r, square=SQ_OK, double=DB_OK), 2, None)
    cases["blank"] = (copy.deepcopy(r), 0, None)
    cases["wrong_double"] = (fill(r, square=SQ_OK, double=DB_WRONG), 1, None)
    noisy = DB_OK.replace("    return", "    import sys, warnings, logging\n"
                                          "    print('UserWarning: some library is noisy', file=sys.stderr)\n"
                                          "    warnings.warn('deprecated thing')\n"
                                          "    logging.getLogger('lib').error('progress 100%')\n    return")
    cases["stderr_noise"] = (fill(r, square=SQ_OK, double=noisy), 2, None)
    cases["colab_stripped"] = (strip_metadata(fill(r, square=SQ_OK, double=DB_OK)), 2, None)
    vs = fill(r, square=SQ_OK, double=DB_OK)
    for cell in vs.cells:
        cell["id"] = uuid.uuid4().hex[:8]
    cases["vscode_new_ids"] = (vs, 2, None)
    shuffled = fill(r, square=SQ_OK, double=DB_OK)
    cells = shuffled.cells
    stub_copy = copy.deepcopy(tc.release_notebook(course).cells[5])   # the double stub, duplicated before the answer
    sq = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square"][0]
    rest = [c for c in cells if c is not sq and c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"]
    di = [i for i, c in enumerate(rest) if c.metadata.get("nbgrader", {}).get("grade_id") == "double"][0]
    shuffled.cells = rest[:di] + [stub_copy] + rest[di:] + [sq]  # test_square deleted, square moved last
    strip_metadata(shuffled)
    cases["reordered_duplicated_deleted"] = (shuffled, 2, None)
    helper = fill(r, square=SQ_OK, double="def double(x):\n    return _twice(np.asarray(x, dtype=float))\n")
    from nbformat.v4 import new_code_cell
    helper.cells.insert(2, new_code_cell("def _twice(a):\n    return a + a\n"))
    cases["extra_helper_cell"] = (helper, 2, None)
    missing = fill(r, square=SQ_OK, double=DB_OK)
    missing.cells = [c for c in missing.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "square"]
    cases["answer_cell_deleted"] = (missing, 1, r"answer cell 'square' not found")

    # -- attacks on the tests -------------------------------------------------------------------------
    cases["always_true_eq"] = (fill(r, square=SQ_OK, double=(
        "class _Yes:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
        "def double(x):\n    return _Yes()\n")), 1, None)
    cases["input_transformer_blanks_cells"] = (attack(
        "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"), 1, None)
    cases["ast_transformer_drops_statements"] = (attack(
        "import ast\nclass _Drop(ast.NodeTransformer):\n    def visit_Expr(self, node):\n        return None\n"
        "get_ipython().ast_transformers.append(_Drop())\n"), 1, None)
    cases["monkeypatch_numpy"] = (attack("np.allclose = lambda *a, **k: True\nnp.isnan = lambda *a, **k: np.zeros(1, bool)\n"),
                                  1, None)
    cases["monkeypatch_builtins"] = (attack("import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.all = lambda it: True\n"
                                            "builtins.AssertionError = Warning\n"),
                                     1, None)
    cases["replace_notebook_builtins"] = (attack(
        "import builtins\nglobals()['__builtins__'] = dict(vars(builtins), abs=lambda x: 0, len=lambda x: 0)\n"),
        1, None)
    cases["monkeypatch_torch"] = (attack("import torch\ntorch.allclose = lambda *a, **k: True\n"
                                         "torch.Tensor.__eq__ = lambda self, other: True\n"), 1, None)
    cases["rebind_assert_close"] = (attack("assert_close = lambda *a, **k: None\nas_array = lambda v, *a, **k: v\n"),
                                    1, None)
    cases["patch_checks_module"] = (attack("import embedkit.checks as _c\n_c.assert_close = lambda *a, **k: None\n"
                                           "assert_close = _c.assert_close\n"), 1, None)
    cases["swap_function_code"] = (attack("assert_close.__code__ = (lambda *a, **k: None).__code__\n"
                                          "assert_close.__defaults__ = None\n"), 1, None)
    cases["background_thread_repatches"] = (attack(
        "import threading, time\ndef _again():\n    while True:\n        np.allclose = lambda *a, **k: True\n"
        "        time.sleep(0.0005)\nthreading.Thread(target=_again, daemon=True).start()\n"), 1, None)
    cases["patch_while_test_runs"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    import numpy\n    numpy.allclose = lambda *a, **k: True\n"
        "    return numpy.asarray(x, dtype=float) + 1\n")), 1, None)
    cases["override_showtraceback"] = (attack(
        "get_ipython().showtraceback = lambda *a, **k: None\nget_ipython()._showtraceback = lambda *a, **k: None\n"),
        1, None)
    cases["custom_exception_handler"] = (attack(
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n"), 1, None)
    cases["settrace"] = (attack("import sys\nsys.settrace(lambda *a: None)\n"), 1, None)
    cases["pre_run_cell_hook"] = (attack(
        "def _hook(*a):\n    globals()['assert_close'] = lambda *a, **k: None\n"
        "get_ipython().events.register('pre_run_cell', _hook)\n"), 1, None)
    cases["forge_guard_answer"] = (attack(
        "import builtins, json\nnp.allclose = lambda *a, **k: True\n"
        "for _k in [k for k in dir(builtins) if k.startswith('_ag_')]:\n"
        "    setattr(builtins, _k, lambda *a, **kw: json.dumps({'n': 10**6, 'mac': '0' * 64, 'changes': []}))\n"),
        1, None)
    cases["wrap_guard_hide_patch"] = (attack(
        "import builtins\n_real_allclose = np.allclose\n"
        "def _fake(*a, **k):\n    return True\n"
        "for _k in [k for k in dir(builtins) if k.startswith('_ag_')]:\n"
        "    _g = getattr(builtins, _k)\n"
        "    def _wrapper(op='check', _g=_g):\n"
        "        np.allclose = _real_allclose\n"
        "        answer = _g(op)\n"
        "        np.allclose = _fake\n"
        "        return answer\n"
        "    setattr(builtins, _k, _wrapper)\n"
        "np.allclose = _fake\n"), 1, None)
    cases["disable_user_expressions"] = (attack(
        "np.allclose = lambda *a, **k: True\nget_ipython().user_expressions = lambda expressions: {}\n"),
        1, None)

    # -- attacks on the grader's files ----------------------------------------------------------------
    read = ("def double(x):\n    import json, re\n"
            f"    for path in {secret_paths!r}:\n"
            "        try:\n"
            "            nb = json.load(open(path))\n"
            "        except Exception as error:\n"
            "            print('cannot read', path, type(error).__name__)\n"
            "            continue\n"
            "        for cell in nb['cells']:\n"
            "            src = ''.join(cell['source'])\n"
            "            if 'def double' in src:\n"
            "                ns = {'np': np}\n"
            "                exec(src, ns)\n"
            "                return ns['double'](x)\n"
            "    return np.asarray(x, dtype=float) + 1\n")
    cases["read_solutions_from_disk"] = (fill(r, square=SQ_OK, double=read), 1, None)
    write = (DB_WRONG + "import sqlite3, os\n"
             f"for _path in [{db_path!r}]:\n"
             "    try:\n"
             "        _db = sqlite3.connect(_path)\n"
             "        _db.execute('UPDATE grade SET auto_score = 100')\n"
             "        _db.commit()\n"
             "    except Exception as error:\n"
             "        print('gradebook:', type(error).__name__, error)\n"
             "try:\n"
             f"    open({pwned!r}, 'w').write('pwned')\n"
             "except Exception as error:\n"
             "    print('grading folder:', type(error).__name__)\n")
    cases["write_gradebook"] = (fill(r, square=SQ_OK, double=write), 1, None)
    cases["network"] = (attack("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
                               "    print('NETWORK REACHABLE')\nexcept OSError as error:\n    print('no network', error)\n"),
                        1, None)

    # -- attacks on the kernel and the machine --------------------------------------------------------
    cases["os_exit"] = (attack("import os\nos._exit(0)\n"), 1, r"kernel died .* in double")
    cases["segfault"] = (attack("import ctypes\nctypes.string_at(0)\n"), 1, r"SIGSEGV")
    cases["fork_bomb"] = (attack(
        "import os, time\nfor _ in range(100000):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        while True:\n            try:\n                os.fork()\n            except OSError:\n"
        "                time.sleep(0.05)\n"), 1, "any")
    cases["memory_bomb"] = (attack("_hog = []\nwhile True:\n    _hog.append(bytearray(256 * 2**20))\n"), 1, "any")
    cases["infinite_loop"] = (fill(r, square=SQ_OK, double="while True:\n    pass\n" + DB_WRONG), 1, r"timed out")
    cases["ignores_interrupt"] = (fill(r, square=SQ_OK, double=(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n")), 1,
        r"kernel died or was killed in double .*timed out")
    cases["slow_inside_test"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    import time\n    time.sleep(10**6)\n")), 1, r"test_double timed out")
    cases["leak_hidden_tests"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    import linecache, sys\n    f = sys._getframe(1)\n"
        "    raise AssertionError(''.join(linecache.getlines(f.f_code.co_filename)))\n")), 1, None)

    # -- attacks on the examiner design (the tests run in another process) ---------------------------------
    cases["post_run_cell_clears_error"] = (attack(
        "def _clear(result):\n    result.error_in_exec = None\n    result.error_before_exec = None\n"
        "get_ipython().events.register('post_run_cell', _clear)\n"), 1, None)
    cases["ast_wraps_cells_in_try"] = (attack(
        "import ast\nclass _Wrap(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
        "        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])\n"
        "        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]\n"
        "        return ast.fix_missing_locations(node)\n"
        "get_ipython().ast_transformers.append(_Wrap())\n"), 1, None)
    cases["liar_reads_expected_from_frames"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    import sys, numpy\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        for v in list(f.f_locals.values()):\n"
        "            if isinstance(v, numpy.ndarray) and v.shape == numpy.shape(x) and v is not x:\n"
        "                return v\n        f = f.f_back\n    return numpy.asarray(x, dtype=float) + 1\n")), 1, None)
    cases["list_host_processes"] = (attack(
        "import os\n_seen = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "_cmds = []\nfor _p in _seen:\n    try:\n        _cmds.append(open(f'/proc/{_p}/cmdline', 'rb').read())\n"
        "    except OSError:\n        pass\nprint('visible processes:', len(_seen))\n"
        "print('HOST PROCESS VISIBLE' if any(b'pytest' in c or b'dask' in c for c in _cmds) else 'no host process')\n"),
        1, None)
    cases["dev_shm_escape"] = (attack(
        f"open('/dev/shm/{SHM_MARKER}', 'w').write('escaped')\n"), 1, None)
    cases["symlink_to_solution"] = (SYMLINK, 0, r"not a regular file")
    cases["replace_the_agent"] = (fill(r, square=SQ_OK, double=DB_OK + (
        "import builtins\nfor _k in [k for k in dir(builtins) if k.startswith('_ag_')]:\n"
        "    setattr(builtins, _k, lambda *a, **k: None)\n")), 1, None)   # a right double, but its test can't run
    cases["forge_replies_on_the_socket"] = (attack(
        "import os, socket, struct, json\n"
        "_body = json.dumps({'value': [2.0, 4.0]}).encode()\n"
        "for _fd in range(3, 64):\n    try:\n        _s = socket.socket(fileno=os.dup(_fd))\n"
        "        if _s.family == socket.AF_UNIX and _s.type == socket.SOCK_STREAM:\n"
        "            _s.sendall(struct.pack('!QI', len(_body), len(_body)) + _body)\n"
        "    except OSError:\n        pass\n"), 1, "any")
    cases["huge_result"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    return np.zeros(80_000_000)  # 640 MB: over the message limit\n")), 1, "any")
    cases["fill_the_disk"] = (attack(
        "import os\ntry:\n    with open(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'big'), 'wb') as _f:\n"
        "        for _ in range(4096):\n            _f.write(b'0' * 2**20)\n"
        "except OSError as error:\n    print('disk full:', type(error).__name__)\n"), 1, None)
    cases["flood_the_output"] = (attack("for _ in range(200):\n    print('x' * 100_000)\n"), 1, None)
    cases["read_secrets_from_environ"] = (attack(
        "import os\n_found = []\nfor _p in ['/proc/self/environ', '/proc/1/environ']:\n    try:\n"
        "        _found.append(open(_p, 'rb').read())\n    except OSError:\n        pass\n"
        f"print('SECRET VISIBLE' if any(b'{SECRET}' in e for e in _found) or '{SECRET}' in str(os.environ) "
        "else 'no secret')\n"), 1, None)

    # -- compact data that is cheap to send and costly for the examiner to decode or use (red team) ---------
    # A set whose ints all hash alike (multiples of 2**61 - 1): building it is quadratic, in the examiner,
    # outside any deadline. A set subclass iterates over them without the student's kernel building it.
    cases["hash_collision_set"] = (fill(r, square=SQ_OK, double=(
        "class _Colliding(set):\n    def __iter__(self):\n        return iter(k * (2**61 - 1) for k in range(1, 200_001))\n"
        "def double(x):\n    return _Colliding()\n")), 1, "any")  # "any": 200k big ints may take the student's
    # kernel past the 6 s cell limit on a loaded machine (a timeout, the same score)
    cases["hash_collision_dict_keys"] = (fill(r, square=SQ_OK, double=(
        "double = {k * (2**61 - 1): 0 for k in range(1, 3)}\n"  # a name bound to a dict: fetched and decoded
        "_keys = [k * (2**61 - 1) for k in range(1, 200_001)]\n"
        "class _Items(list):\n    pass\n"
        "import builtins\n"
        "for _k in [k for k in dir(builtins) if k.startswith('_ag_')]:\n"
        "    _agent = getattr(builtins, _k)\n"
        "    import autograder.wire as _w\n"
        "    _orig = _w.encode\n"
        "    def _enc(value, buffers, other=None, depth=0, _orig=_orig):\n"
        "        if isinstance(value, dict) and len(value) == 2 and 2**61 - 1 in value:\n"
        "            return {'$dict': [[_orig(k, buffers), 0] for k in _keys]}\n"
        "        return _orig(value, buffers, other, depth)\n"
        "    _w.encode = _enc\n")), 1, "any")
    cases["huge_range"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    return range(500_000_000)  # 4 GB and about 30 s for np.asarray in the examiner\n")),
        1, None)
    cases["empty_strarray_huge_shape"] = (attack(
        "import autograder.wire as _w\n_orig = _w.encode\n"
        "def _enc(value, buffers, other=None, depth=0):\n"
        "    if isinstance(value, str) and value == 'tokens!':\n"
        "        return {'$strarray': [], 'shape': [3_000_000_000]}\n"
        "    return _orig(value, buffers, other, depth)\n"
        "_w.encode = _enc\n"
        "def double(x):\n    return 'tokens!'\n"), 1, None)
    # An error whose message is tens of megabytes, in a cell of the student's: the worker would carry it into
    # the autograded notebook (and over Dask) unbounded; the kernel's own formatted traceback repeats it.
    cases["huge_error_message"] = (fill(r, square=SQ_OK, double=DB_WRONG), 1, None)
    cases["huge_error_message"][0].cells.insert(6, new_code_cell(
        "raise ValueError('<script>alert(1)</script>\\x1b[31m' + 'E' * 30_000_000)\n"))
    cases["huge_display_metadata"] = (attack(
        "from IPython.display import display\n"
        "for _i in range(5):\n    display({'text/plain': 'x'}, raw=True, metadata={'m': 'M' * 20_000_000})\n"), 1, None)
    # 40 million zeros as one JSON list (80 MB, under the message limit), sent in place of the agent's reply:
    # rebuilding them took the examiner about a minute, past the test's time (a grade lost); now it stops
    # at the deadline.
    cases["huge_json_list"] = (attack(
        "import struct\nimport autograder.wire as _w\n"
        "_body = b'{\"value\":[' + b'0,' * 39_999_999 + b'0]}'\n"
        "_frame = struct.pack('!QI', len(_body), len(_body)) + _body\n_send = _w.send\n"
        "def _forged(sock, tree, buffers=None):\n"
        "    if isinstance(tree, dict) and 'changed' in tree:  # the reply to a call of double\n"
        "        return sock.sendall(_frame)\n"
        "    return _send(sock, tree, buffers)\n"
        "_w.send = _forged\n"), 1, r"test_double timed out|kernel died or was killed in test_double")
    # Cells that nbformat reads without complaint but of types the grader did not expect (nbgrader metadata a
    # string, a grade_id a list, no cell_type, a source that is a number or null): matching them crashed the
    # worker, so the grade was lost (and a batch of such files stopped as an "infrastructure" failure).
    odd = json.loads(nbformat.writes(fill(r, square=SQ_OK, double=DB_WRONG)))
    odd["cells"][1:1] = [
        {"cell_type": "code", "source": 123, "metadata": {"nbgrader": "test_double"}, "outputs": [],
         "execution_count": None, "id": "odd-1"},
        {"source": "x = 1", "metadata": {"nbgrader": {"grade_id": ["double"], "points": "lots"}}, "id": "odd-2"},
        {"cell_type": "code", "source": None, "metadata": {"nbgrader": {"grade_id": "double", "solution": True}},
         "outputs": [], "execution_count": None, "id": "odd-3"},
        {"cell_type": "code", "source": {"a": 1}, "metadata": {}, "outputs": [], "execution_count": None, "id": "odd-4"},
    ]
    cases["odd_cell_types"] = (RAW + json.dumps(odd), 1, None)
    # Many extra cells, each displaying just under the 2 MB a cell may keep: 60 MB of autograded notebook
    # (a 600-cell submission: 1.2 GB in the worker and over Dask), where the notebook as a whole keeps 40 MB.
    many = fill(r, square=SQ_OK, double=DB_WRONG)
    for _ in range(30):
        many.cells.insert(6, new_code_cell("from IPython.display import HTML\nHTML('<b>' + 'D' * 1_900_000 + '</b>')\n"))
    cases["many_big_displays"] = (many, 1, None)

    # -- capabilities, not names: replies the examiner must take as data or refuse (issue: examiner boundary) ---
    # The kernel's agent is patched to send references instead of data; each named an object of the examiner's
    # before (a hidden test's `_expected`, the set-up's reference, a library function) and now fails the test.
    def forge(when: str, tree: str):
        return ("import autograder.wire as _w\n_orig = _w.encode\n"
                "def _enc(value, buffers, other=None, depth=0):\n"
                f"    if {when}:\n        return {tree}\n"
                "    return _orig(value, buffers, other, depth)\n_w.encode = _enc\n")
    marked = "def double(x):\n    return 'FORGE'\n"
    cases["forge_reply_names_hidden_expected"] = (attack(
        forge("isinstance(value, str) and value == 'FORGE'", "{'$global': ['__main__', '_expected']}"),
        double=marked), 1, None)
    cases["forge_reply_names_setup_reference"] = (attack(
        forge("isinstance(value, str) and value == 'FORGE'", "{'$ref': 'double_reference'}"), double=marked), 1, None)
    cases["forge_fetch_as_setup_reference"] = (attack(  # `double` itself fetched as the set-up's reference
        forge("callable(value) and getattr(value, '__name__', '') == 'double'", "{'$ref': 'double_reference'}")),
        1, None)
    cases["forge_fetch_as_library_function"] = (attack(
        forge("callable(value) and getattr(value, '__name__', '') == 'double'", "{'$global': ['os', 'system']}")),
        1, None)
    # -- examiner-only set-up (issue: nothing to copy): the reference and the hidden expected value are in the
    # examiner alone. A kernel that searches itself (names, objects, cached source, its whole memory) finds
    # nothing to call or copy; binding the hidden name itself changes nothing the examiner reads.
    cases["steal_examiner_only_reference"] = (fill(r, square=SQ_OK, double=steal(tc.EXAMINER_MARKER)), 1, None)
    cases["steal_control_finds_the_set_up"] = (fill(r, square=SQ_OK, double=steal(tc.SETUP_MARKER)), 2, None)
    cases["shadow_examiner_only_name"] = (attack(
        "double_secret_expected = double(np.array([7.25, -1.5]))\ndouble_reference = double\n"), 1, None)
    # The examiner's requests name only what the student bound: a double that turns right when a request names
    # a hidden test's own variables (`_expected`, `_x`) would have known it was being graded by the hidden part.
    cases["probe_requested_names"] = (attack(
        "import autograder.agent as _a\n_handle = _a.Agent.handle\n"
        "def _probe(self, tree, buffers):\n"
        "    if tree.get('op') == 'get' and any(str(n).startswith('_') for n in tree.get('names', [])):\n"
        "        self.ns['double'] = lambda x: np.asarray(x, dtype=float) * 2\n"
        "    return _handle(self, tree, buffers)\n"
        "_a.Agent.handle = _probe\n"), 1, None)
    # Decoding is bounded by what was sent: one long string among a million short ones asked numpy for a
    # 1,000,000 x 500-character array (2 GB from a 4 MB reply) in the examiner.
    cases["string_array_padding_bomb"] = (attack(
        forge("isinstance(value, str) and value == 'FORGE'",
              "{'$strarray': ['a'] * 999_999 + ['b' * 500], 'shape': [1_000_000]}"), double=marked), 1, None)
    # Copy-back: a double that is wrong on one input and hides it by zeroing that input in place and returning
    # zeros; the hidden test computes its expectation from the array after the call (as the red team's
    # cosine_matrix did). Copied back, the zeros made the expectation zeros too: +1.
    cases["zeroes_its_input_in_place"] = (fill(r, square=SQ_OK, double=(
        "def double(x):\n    if isinstance(x, np.ndarray) and x.sum() > 4:\n        x[:] = 0\n        return x.copy()\n"
        "    return np.asarray(x, dtype=float) * 2\n")), 1, None)
    # -- IPC and hostname: what one sandbox leaves for the next (red team) -------------------------------------
    # A SysV shared-memory note outlived its writer (no IPC_RMID) and was read by another student of the same
    # batch and of a later one; the note here is a right double(), so a reader that sees it scores 2.
    # "shm_a..." sorts before "shm_b...": the writer is handed out first; the reader waits a little for it.
    cases["shm_a_write_note"] = (attack(
        SHM_LIBC + f"_id = _libc.shmget({SYSV_KEY}, 4096, 0o1666)  # IPC_CREAT, readable by everyone\n"
        "if _id >= 0:\n    _p = _libc.shmat(_id, None, 0)\n"
        f"    ctypes.memmove(_p, {DB_OK.encode()!r}, {len(DB_OK)})\n"
        "    _libc.shmdt(ctypes.c_void_p(_p))\n    print('note written')\n"), 1, None)
    cases["shm_b_read_note"] = (attack(SHM_READ_NOTE), 1, None)
    # 512 MiB of segments no process owns (IPC_PRIVATE, never removed): they stayed allocated until reboot.
    cases["shm_hog"] = (attack(
        SHM_LIBC + "_held = 0\nfor _ in range(8):\n"
        "    _id = _libc.shmget(0, 64 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT\n"
        "    if _id < 0:\n        break\n"
        "    _p = _libc.shmat(_id, None, 0)\n    if _p in (None, ctypes.c_void_p(-1).value):\n        break\n"
        "    ctypes.memset(_p, 1, 64 << 20)\n    _libc.shmdt(ctypes.c_void_p(_p))\n    _held += 64\n"
        "print(f'held {_held} MiB of SysV shared memory')\n"), 1, None)
    # (never as root: a kernel running as root has no sandbox, and would rename the grader's machine)
    cases["hostname"] = (attack(
        "import ctypes, os, socket\n"
        "_err = ctypes.CDLL(None, use_errno=True).sethostname(b'pwned-host', 10) if os.getuid() else 'root'\n"
        "_etc = open('/etc/hostname').read().strip() if os.path.exists('/etc/hostname') else ''\n"
        "print('HOSTNAME', socket.gethostname(), os.uname().nodename, _etc or '-', 'set:', _err)\n"), 1, None)
    # Files the zygote had open (IPython's history database, in root's home) passed to every fork: a write
    # through the inherited descriptor reaches the host, whatever the sandbox's uid and root.
    cases["inherited_file_descriptors"] = (attack(
        "import os, stat\n_scratch = os.path.dirname(os.environ.get('HOME', '/'))\n_host = []\n"
        "for _fd in os.listdir('/proc/self/fd'):\n    try:\n        _st = os.fstat(int(_fd))\n"
        "        _path = os.readlink(f'/proc/self/fd/{_fd}')\n"
        "        _mode = __import__('fcntl').fcntl(int(_fd), __import__('fcntl').F_GETFL) & os.O_ACCMODE\n"
        "    except OSError:\n        continue\n"
        "    if stat.S_ISREG(_st.st_mode) and _mode != os.O_RDONLY and not _path.startswith(_scratch):\n"
        "        _host.append(_path)\n"
        "print('WRITABLE HOST FD', _host if _host else 'no host fd')\n"), 1, None)
    # -- attacks on recording: every submission is recorded once, whatever it does (red team, the canary) -----------
    # A right double whose kernel stops reading the examiner's requests once one is over 1 MB (test_double's last
    # hidden check sends a 1.6 MB array) and ignores the interrupt. It left the examiner blocked in a send and the
    # submission "not recorded; rerun to retry" on every run. The send has the test's deadline; the executor
    # interrupts, then kills, the kernel: recorded, flagged, test_double lost (its hidden part never answered).
    # (on a loaded machine the examiner's verdict may come after the executor's own limit: the canary then
    # judges the failure, with its own flag; recorded with the same score either way)
    cases["stops_reading_large_requests"] = (fill(r, square=SQ_OK, double=DB_OK + STOPS_READING), 1,
                                             r"(kernel died or was killed|grading failed) in test_double")
    # Lone surrogates and control characters in what the kernel sends, which no UTF-8 write accepts. ipykernel's own
    # packer refuses them, so the kernel's is swapped for one that escapes them: they reach the worker as they are.
    cases["surrogate_in_display"] = (attack(
        ESCAPING_PACKER + "from IPython.display import display, HTML\n"
        "display({'text/plain': '\\ud800\\x00'}, raw=True)\ndisplay(HTML('<b>\\udfff</b>'))\n"), 1, None)
    cases["surrogate_in_stdout"] = (fill(r, square=SQ_OK, double=DB_OK + ESCAPING_PACKER + (
        "import sys\nprint('out \\ud800 \\x07')\nprint('err \\udc80', file=sys.stderr)\n")), 2, None)
    cases["surrogate_in_error"] = (fill(r, square=SQ_OK, double=DB_WRONG), 1, None)
    cases["surrogate_in_error"][0].cells.insert(7, new_code_cell(  # after double, before its test
        ESCAPING_PACKER + "raise ValueError('\\ud800 \\x00 \\x1b[31m')\n"))
    cases["odd_display_values"] = (attack(
        ESCAPING_PACKER + "from IPython.display import display\n"
        "display({'text/plain': 5, 'text/html': ['<b>', None], 'application/json': {'\\ud800': ['\\udfff', 1]}},"
        " raw=True, metadata={'\\ud800': {'\\x00': [None, 1.5]}})\n"), 1, None)
    # A lone surrogate in the notebook file itself (valid JSON: "\ud800"): sending that cell to the kernel failed.
    cases["surrogate_in_source"] = (RAW + json.dumps(fill(r, square=SQ_OK, double=DB_OK + "_s = '\ud800'\n")), 2,
                                    None)
    return cases


SYSV_KEY = 0x5A000000 + uuid.uuid4().int % 0xFFFFFF  # one corpus run's SysV IPC key
SHM_LIBC = ("import ctypes\n_libc = ctypes.CDLL(None, use_errno=True)\n_libc.shmat.restype = ctypes.c_void_p\n"
            "_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]\n")
# Wait up to 2 s for another student's note, and define double() from it if there is one.
SHM_READ_NOTE = SHM_LIBC + f"""import time
_note, _deadline = b'', time.monotonic() + 2
while not _note and time.monotonic() < _deadline:
    _id = _libc.shmget({SYSV_KEY}, 0, 0)
    _p = _libc.shmat(_id, None, 0o10000) if _id >= 0 else None  # SHM_RDONLY
    if _p in (None, ctypes.c_void_p(-1).value):
        time.sleep(0.1)
        continue
    _note = ctypes.string_at(_p)
if _note:
    exec(_note.decode(), globals())
print('NOTE SEEN' if _note else 'no note')
"""


# The kernel stops reading a request of over 1 MB, and ignores the interrupt (ipykernel restores its own SIGINT handler
# before each execution: this one is set while the agent serves the test).
STOPS_READING = (
    "import signal, time\nimport autograder.wire as _w\n_real_read = _w._read\n"
    "def _read(sock, n):\n    if n > 1_000_000:\n        signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "        while True:\n            time.sleep(3600)\n    return _real_read(sock, n)\n"
    "_w._read = _read\n")
ESCAPING_PACKER = ("import json as _json\nfrom jupyter_client.jsonutil import json_default as _default\n"
                   "get_ipython().kernel.session.pack = lambda o: _json.dumps(o, default=_default).encode()\n")


# Looks for the examiner-only cell's reference and expected value in the kernel: names, live objects, the
# source IPython caches, every descriptor it holds (the set-up's hand-over file among them, were it inherited),
# then every readable heap and anonymous mapping of its memory. Right only if it found one. The marker is searched for in two halves that this code never joins, so its own text never matches.
# `steal(tc.SETUP_MARKER)` is the control: the same search finds what the shared set-up holds.
def steal(marker: str) -> str:
    return STEAL.replace("@HEAD@", marker[:9]).replace("@TAIL@", marker[9:])


STEAL = """import ctypes, gc, linecache
_HEAD, _TAIL = "@HEAD@".encode(), "@TAIL@".encode()
def _has_marker(data):
    at = data.find(_HEAD)
    while at >= 0:
        if data[at + len(_HEAD):at + len(_HEAD) + len(_TAIL)] == _TAIL:
            return True
        at = data.find(_HEAD, at + 1)
    return False
def _leaked():
    if "double_reference" in globals() or "double_secret_expected" in globals():
        return "a name"
    if any(getattr(o, "__name__", "") == "double_reference" for o in gc.get_objects() if callable(o)):
        return "an object"
    if any(_has_marker("".join(v[2]).encode()) for v in list(linecache.cache.values()) if len(v) > 2):
        return "cached source"
    return _in_descriptors() or _in_memory()
def _in_descriptors():  # the set-up's hand-over file, or any other descriptor the kernel inherited
    import os
    for fd in os.listdir("/proc/self/fd"):
        try:
            if _has_marker(os.pread(int(fd), 1 << 20, 0)):
                return "a descriptor"
        except OSError:
            pass
    return ""
def _in_memory():
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: after setuid /proc/self/mem is root's until this
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and not fields[5].startswith("[heap")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            tail = b""
            for at in range(start, end, 1 << 23):  # 8 MiB at a time, overlapping by the marker's length
                try:
                    mem.seek(at)
                    chunk = tail + mem.read(min(1 << 23, end - at))
                except (OSError, ValueError, OverflowError):
                    break
                if _has_marker(chunk):
                    return "memory"
                tail = chunk[-64:]
    return ""
LEAK = _leaked()
print("found:", LEAK or "nothing")
def double(x):
    return np.asarray(x, dtype=float) * 2 if LEAK else np.asarray(x, dtype=float) + 1
"""


SECRET = "CANARYPASSWORD"  # the grader's environment holds DB_URL=postgresql://grader:CANARYPASSWORD@...
SHM_MARKER = "ag-shm-marker-" + uuid.uuid4().hex[:8]
SYMLINK = "symlink"
RAW = "raw json:"  # a case given as the file's text, written as it is


def build(course):
    """Write every case as a student's submission; returns {student: (score, flag regex)}.

    $CORPUS_CASES (comma-separated name prefixes) builds only those cases: a quicker run while working
    on a few (the tests that name other cases then fail).
    """
    expected = {}
    only = tuple(p for p in os.environ.get("CORPUS_CASES", "").split(",") if p)
    for name, (nb, score, flag) in _cases(course).items():
        if only and not name.startswith(only):
            continue
        if nb is SYMLINK:  # a "submission" that points at the instructor's solution
            path = tc.submit(course, name, tc.release_notebook(course))
            path.unlink()
            path.symlink_to(course.source / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb")
        elif isinstance(nb, str) and nb.startswith(RAW):
            path = tc.submit(course, name, tc.release_notebook(course))
            path.write_text(nb[len(RAW):])
        else:
            tc.submit(course, name, nb)
        expected[name] = (score, flag)
    return expected
