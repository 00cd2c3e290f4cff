from testlint.launcher import main

main()
