from testlint.replay import main

main()
