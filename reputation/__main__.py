from reputation.server import main

main()
