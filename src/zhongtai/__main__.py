from zhongtai.cli.app import main

main()
