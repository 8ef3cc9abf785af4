"""The bundle's program: the same `fieldmind` command as the installed one."""

from fieldmind.cli import main

if __name__ == "__main__":
    main()
