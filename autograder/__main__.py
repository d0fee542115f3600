import sys

if __name__ == "__main__":  # guarded: Dask's worker processes re-import the main module
    from .cli import main
    sys.exit(main())
